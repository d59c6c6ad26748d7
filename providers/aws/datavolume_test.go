package aws

import (
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

func dataVolume(size int64, mount string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"size_gb": cty.NumberIntVal(size), "mount": cty.StringVal(mount)})
}

func volumeInstanceConfig(size int64, extra map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro"),
		"data_volume": dataVolume(size, "~/work")}
	for k, v := range extra {
		attrs[k] = v
	}
	return instanceConfig(attrs)
}

// TestPlanDataVolume: the volume ID survives every plan, a replacement
// included; a growth is a note; a shrink and the removal of the block are
// refused; a replacement says what it loses.
func TestPlanDataVolume(t *testing.T) {
	addr := resourceAddr("aws_instance", "dev")
	prior := withAttrs(volumeInstanceConfig(10, nil), map[string]cty.Value{
		"id": cty.StringVal("i-1"), "disk_gb": cty.NumberIntVal(30),
		"data_volume": withAttrs(configOf(&instanceSchema().Block.BlockTypes["data_volume"].Block, dataVolume(10, "~/work").AsValueMap()),
			map[string]cty.Value{"id": cty.StringVal("vol-1"), "attached": cty.True}),
	})
	plan := func(cfg cty.Value, replace bool) providers.PlanChangeResponse {
		return planInstance(providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg, Replace: replace})
	}
	volID := func(r providers.PlanChangeResponse) cty.Value {
		return getAttr(getAttr(r.Planned, "data_volume"), "id")
	}

	r := plan(volumeInstanceConfig(10, nil), false)
	if r.Diagnostics.HasErrors() || !r.Planned.RawEquals(prior) {
		t.Fatalf("unchanged: %v\nplanned %#v\nprior   %#v", r.Diagnostics, r.Planned, prior)
	}
	detached := withAttrs(prior, map[string]cty.Value{"data_volume": withAttrs(getAttr(prior, "data_volume"), map[string]cty.Value{"attached": cty.False})})
	r = planInstance(providers.PlanChangeRequest{Addr: addr, Prior: detached, Config: volumeInstanceConfig(10, nil)})
	if r.Planned.RawEquals(detached) || len(r.Notes) != 1 || r.Notes[0] != "data volume vol-1 is not attached to the instance: it is attached again" {
		t.Fatalf("detached: notes %q", r.Notes)
	}
	r = plan(volumeInstanceConfig(20, nil), false)
	if len(r.RequiresReplace) > 0 || !volID(r).RawEquals(cty.StringVal("vol-1")) ||
		len(r.Notes) != 1 || r.Notes[0] != "data volume vol-1 grows from 10 to 20 GiB in place; its file system is grown on the host" {
		t.Fatalf("grow: replace %v, id %#v, notes %q", r.RequiresReplace, volID(r), r.Notes)
	}
	r = plan(volumeInstanceConfig(5, nil), false)
	if !r.Diagnostics.HasErrors() || r.Diagnostics[0].Summary != "A data volume cannot shrink" || !strings.Contains(r.Diagnostics[0].Detail, "Set size_gb = 10 or more") {
		t.Fatalf("shrink: %v", r.Diagnostics)
	}
	r = plan(instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}), false)
	if !r.Diagnostics.HasErrors() || !strings.Contains(r.Diagnostics[0].Detail, "vol-1 (10 GiB, mounted at ~/work)") {
		t.Fatalf("removal: %v", r.Diagnostics)
	}
	r = plan(volumeInstanceConfig(10, map[string]cty.Value{"ami": cty.StringVal("ami-0123456789abcdef0")}), false)
	if len(r.RequiresReplace) != 1 || !volID(r).RawEquals(cty.StringVal("vol-1")) ||
		r.ReplaceLoses != "replacing destroys the 30 GB root disk and everything on it that is not on the data volume (vol-1, ~/work, is kept and attached to the new instance)" {
		t.Fatalf("replace: %v, id %#v, loses %q", r.RequiresReplace, volID(r), r.ReplaceLoses)
	}
	r = plan(volumeInstanceConfig(10, nil), true)
	if r.ReplaceLoses == "" || len(r.RequiresReplace) != 0 {
		t.Fatalf("-replace: loses %q, paths %v", r.ReplaceLoses, r.RequiresReplace)
	}
	r = planInstance(providers.PlanChangeRequest{Addr: addr, Prior: cty.NullVal(instanceSchema().ImpliedType()), Config: volumeInstanceConfig(10, nil)})
	if volID(r).IsKnown() {
		t.Fatalf("a new volume's ID is known: %#v", volID(r))
	}
	if steps := dataVolumeSteps(prior); len(steps) != 1 || steps[0].Kind != "data_volume" ||
		!steps[0].Config.RawEquals(cty.ObjectVal(map[string]cty.Value{"volume_id": cty.StringVal("vol-1"), "mount": cty.StringVal("~/work"), "size_gb": cty.NumberIntVal(10)})) {
		t.Fatalf("host steps: %#v", steps)
	}
	for _, bad := range []string{"work", "~", "/", "~/a b", "~/../etc", `~/a\b`, "/x/~/y"} {
		if validateMountPoint(cty.StringVal(bad)) == nil {
			t.Errorf("mount %q accepted", bad)
		}
	}
}

// TestDataVolumeLifecycle on moto: created in the instance's zone and
// tagged; refreshed in the instances' one DescribeVolumes; adopted, not
// duplicated, when a run died before recording it; grown in place; kept by
// the delete half of a replacement and attached to the new instance;
// deleted with the instance on destroy.
func TestDataVolumeLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	addr := resourceAddr("aws_instance", "dev")
	null := cty.NullVal(instanceSchema().ImpliedType())
	a := w.apply(addr, null, volumeInstanceConfig(10, nil))
	st := a.resp.NewState
	dv := getAttr(st, "data_volume")
	volID := getString(dv, "id")
	if !strings.HasPrefix(volID, "vol-") || getString(dv, "mount") != "~/work" || getString(dv, "type") != "gp3" {
		t.Fatalf("data volume state: %#v", dv)
	}
	vol := w.volume(volID)
	if awssdk.ToString(vol.AvailabilityZone) != getString(st, "availability_zone") || awssdk.ToInt32(vol.Size) != 10 ||
		tagMap(vol.Tags)["mlops:address"] != "aws_instance.dev.data_volume" || len(vol.Attachments) != 1 ||
		awssdk.ToString(vol.Attachments[0].InstanceId) != getString(st, "id") {
		t.Fatalf("volume in EC2: %+v", vol)
	}

	// A no-op refresh reads it in the root volumes' DescribeVolumes.
	w.counts.Reset()
	got := w.refresh(providers.ResourceObject{Addr: addr, State: st})
	if !got[0].RawEquals(st) {
		t.Fatalf("refresh changed the state:\n%#v\n%#v", got[0], st)
	}
	if s := w.counts.String(); s != "DescribeInstances=1 DescribeVolumes=1" {
		t.Errorf("refresh calls: %s", s)
	}

	// Detached behind mlops's back: the refresh says so, the apply attaches it again.
	if _, err := w.ec2.DetachVolume(w.ctx, &ec2.DetachVolumeInput{VolumeId: awssdk.String(volID), InstanceId: awssdk.String(getString(st, "id"))}); err != nil {
		t.Fatal(err)
	}
	got = w.refresh(providers.ResourceObject{Addr: addr, State: st})
	if getBool(getAttr(got[0], "data_volume"), "attached", true) {
		t.Fatalf("refresh of a detached volume: %#v", getAttr(got[0], "data_volume"))
	}
	a = w.apply(addr, got[0], volumeInstanceConfig(10, nil))
	if !a.resp.NewState.RawEquals(st) || w.counts.Count("AttachVolume") != 1 {
		t.Fatalf("attached again: %#v (%s)", getAttr(a.resp.NewState, "data_volume"), w.counts)
	}

	// A run that died before recording the volume: the next one adopts it.
	forgotten := withAttrs(st, map[string]cty.Value{"data_volume": cty.NullVal(getAttr(st, "data_volume").Type())})
	a = w.apply(addr, forgotten, volumeInstanceConfig(10, nil))
	if getString(getAttr(a.resp.NewState, "data_volume"), "id") != volID || len(w.dataVolumes()) != 1 {
		t.Fatalf("adoption: %#v, volumes %v", getAttr(a.resp.NewState, "data_volume"), w.dataVolumes())
	}

	// Grow in place.
	a = w.apply(addr, st, volumeInstanceConfig(12, nil))
	if awssdk.ToInt32(w.volume(volID).Size) != 12 || w.counts.Count("ModifyVolume") != 1 {
		t.Fatalf("grow: size %d, %s", awssdk.ToInt32(w.volume(volID).Size), w.counts)
	}
	st = a.resp.NewState

	// Replacement: the delete half keeps it, the new instance gets it.
	resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: st, Planned: null, Config: null,
		Tags: ownerTags(addr), Replacing: true})
	noErrors(t, resp.Diagnostics)
	if v := w.volume(volID); v.State != types.VolumeStateAvailable {
		t.Fatalf("after the old instance: volume %s", v.State)
	}
	a = w.apply(addr, null, volumeInstanceConfig(12, nil))
	if getString(getAttr(a.resp.NewState, "data_volume"), "id") != volID || getString(a.resp.NewState, "id") == getString(st, "id") {
		t.Fatalf("new instance %s with volume %#v", getString(a.resp.NewState, "id"), getAttr(a.resp.NewState, "data_volume"))
	}
	if v := w.volume(volID); len(v.Attachments) != 1 || awssdk.ToString(v.Attachments[0].InstanceId) != getString(a.resp.NewState, "id") {
		t.Fatalf("volume attachments after the replacement: %+v", v.Attachments)
	}

	// Destroy deletes it.
	w.destroy(addr, a.resp.NewState)
	if n := len(w.dataVolumes()); n != 0 {
		t.Fatalf("%d data volumes after destroy", n)
	}
}

func (w *world) volume(id string) types.Volume {
	w.t.Helper()
	out, err := w.ec2.DescribeVolumes(w.ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil || len(out.Volumes) != 1 {
		w.t.Fatalf("volume %s: %v", id, err)
	}
	return out.Volumes[0]
}

func (w *world) dataVolumes() []string {
	w.t.Helper()
	out, err := w.ec2.DescribeVolumes(w.ctx, &ec2.DescribeVolumesInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, v := range out.Volumes {
		if strings.HasSuffix(tagMap(v.Tags)["mlops:address"], ".data_volume") {
			ids = append(ids, awssdk.ToString(v.VolumeId))
		}
	}
	return ids
}
