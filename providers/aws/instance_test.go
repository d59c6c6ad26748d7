package aws

import (
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// describe reads an instance with the arranging client.
func (w *world) describe(id string) types.Instance {
	w.t.Helper()
	out, err := w.ec2.DescribeInstances(w.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		w.t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	return out.Reservations[0].Instances[0]
}

func (w *world) volumeSize(id string) int32 {
	w.t.Helper()
	out, err := w.ec2.DescribeVolumes(w.ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil {
		w.t.Fatalf("DescribeVolumes %s: %v", id, err)
	}
	return *out.Volumes[0].Size
}

// liveInstances lists the instances that are not terminated.
func (w *world) liveInstances() []types.Instance {
	w.t.Helper()
	out, err := w.ec2.DescribeInstances(w.ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	var live []types.Instance
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			if !isGone(inst) {
				live = append(live, inst)
			}
		}
	}
	return live
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func TestInstanceLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	prior := cty.NullVal(instanceSchema().ImpliedType())

	// The instance's dependencies, made by the provider too.
	sgAddr := resourceAddr("aws_security_group", "ssh")
	sg := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("ssh"), "ingress": cty.TupleVal([]cty.Value{rule(22, "0.0.0.0/0")})})).resp.NewState
	sg2 := w.apply(resourceAddr("aws_security_group", "web"), cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("web")})).resp.NewState
	kpAddr := resourceAddr("aws_key_pair", "dev")
	w.apply(kpAddr, cty.NullVal(keyPairSchema().ImpliedType()),
		keyPairConfig(map[string]cty.Value{"name": cty.StringVal("dev"), "private_key_file": cty.StringVal("~/.ssh/dev")}))

	addr := resourceAddr("aws_instance", "dev")
	attrs := map[string]cty.Value{
		"ami":             cty.StringVal(jammyNewest),
		"instance_type":   cty.StringVal("t3.large"),
		"key_pair":        cty.StringVal("dev"),
		"security_groups": stringList([]string{getString(sg, "id")}),
		"disk_gb":         cty.NumberIntVal(50),
		"tags":            stringMap(map[string]string{"Name": "ml-dev"}),
		"user_data":       cty.StringVal("#cloud-config\npackages: [htop]\n"),
	}
	cfg := instanceConfig(attrs)

	// Create.
	w.counts.Reset()
	a := w.apply(addr, prior, cfg)
	state := a.resp.NewState
	id := getString(state, "id")
	t.Logf("create: %s", w.counts)
	if !strings.HasPrefix(id, "i-") {
		t.Fatalf("id = %q", id)
	}
	if len(a.created) != 1 || getString(a.created[0], "id") != id || !a.created[0].IsWhollyKnown() {
		t.Errorf("Created = %#v", a.created)
	}
	for _, attr := range []string{"public_ip", "private_ip", "public_dns", "availability_zone", "root_volume_id"} {
		if getString(state, attr) == "" {
			t.Errorf("%s is empty", attr)
		}
	}
	if getString(state, "instance_state") != "running" || !getBool(state, "running", false) {
		t.Errorf("instance_state = %s", getString(state, "instance_state"))
	}
	if n, _ := getInt(state, "disk_gb"); n != 50 {
		t.Errorf("disk_gb = %d, want 50", n)
	}
	if got := w.volumeSize(getString(state, "root_volume_id")); got != 50 {
		t.Errorf("root volume size = %d, want 50", got)
	}
	inst := w.describe(id)
	wantTags := map[string]string{"Name": "ml-dev", tagStack: testStack, tagAddress: "aws_instance.dev"}
	if diff := cmp.Diff(wantTags, tagMap(inst.Tags)); diff != "" {
		t.Errorf("instance tags (-want +got):\n%s", diff)
	}
	vols, _ := w.ec2.DescribeVolumes(w.ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{getString(state, "root_volume_id")}})
	if diff := cmp.Diff(wantTags, tagMap(vols.Volumes[0].Tags)); diff != "" {
		t.Errorf("volume tags (-want +got):\n%s", diff)
	}
	if deref(inst.KeyName) != "dev" || string(inst.InstanceType) != "t3.large" || deref(inst.ImageId) != jammyNewest {
		t.Errorf("instance = key %s type %s ami %s", deref(inst.KeyName), inst.InstanceType, deref(inst.ImageId))
	}
	if w.counts.Count("RunInstances") != 1 {
		t.Errorf("RunInstances calls = %d", w.counts.Count("RunInstances"))
	}

	// Refresh, then plan: nothing to do.
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) || len(p.RequiresReplace) > 0 || len(p.Notes) > 0 {
		t.Fatalf("plan after create is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// Instance type: stop, modify, start, in place with a note.
	attrs["instance_type"] = cty.StringVal("g4dn.xlarge")
	cfg = instanceConfig(attrs)
	p := w.plan(addr, state, cfg)
	if diff := cmp.Diff([]string{NoteRestart}, p.Notes); diff != "" || len(p.RequiresReplace) > 0 {
		t.Errorf("notes (-want +got):\n%s\nreplace %v", diff, p.RequiresReplace)
	}
	if p.Planned.GetAttr("public_ip").IsKnown() {
		t.Errorf("public_ip should be unknown across a restart")
	}
	w.counts.Reset()
	a = w.apply(addr, state, cfg)
	state = a.resp.NewState
	for _, action := range []string{"StopInstances", "ModifyInstanceAttribute", "StartInstances"} {
		if w.counts.Count(action) != 1 {
			t.Errorf("%s calls = %d, want 1 (%s)", action, w.counts.Count(action), w.counts)
		}
	}
	if getString(state, "id") != id || getString(state, "instance_type") != "g4dn.xlarge" || getString(state, "instance_state") != "running" {
		t.Errorf("after type change: %#v", state)
	}
	if got := string(w.describe(id).InstanceType); got != "g4dn.xlarge" {
		t.Errorf("EC2 instance type = %s", got)
	}

	// Tags, security groups and a bigger disk: in place, no restart.
	attrs["tags"] = stringMap(map[string]string{"project": "zoomcamp"})
	attrs["security_groups"] = stringList([]string{getString(sg, "id"), getString(sg2, "id")})
	attrs["disk_gb"] = cty.NumberIntVal(80)
	cfg = instanceConfig(attrs)
	p = w.plan(addr, state, cfg)
	if len(p.RequiresReplace) > 0 || len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "grows from 50 to 80 GiB") {
		t.Errorf("plan: replace %v notes %q", p.RequiresReplace, p.Notes)
	}
	w.counts.Reset()
	a = w.apply(addr, state, cfg)
	state = a.resp.NewState
	if w.counts.Count("StopInstances") != 0 || w.counts.Count("ModifyVolume") != 1 {
		t.Errorf("calls: %s", w.counts)
	}
	inst = w.describe(id)
	wantTags = map[string]string{"project": "zoomcamp", tagStack: testStack, tagAddress: "aws_instance.dev"}
	if diff := cmp.Diff(wantTags, tagMap(inst.Tags)); diff != "" {
		t.Errorf("instance tags (-want +got):\n%s", diff)
	}
	if !sameSet(groupIDs(inst), []string{getString(sg, "id"), getString(sg2, "id")}) {
		t.Errorf("security groups = %v", groupIDs(inst))
	}
	if got := w.volumeSize(getString(state, "root_volume_id")); got != 80 {
		t.Errorf("root volume = %d GiB, want 80", got)
	}
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) {
		t.Fatalf("plan after update is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// A smaller disk, another AMI, another key or user data replace.
	for attr, v := range map[string]cty.Value{
		"disk_gb":   cty.NumberIntVal(40),
		"ami":       cty.StringVal(jammyOlder),
		"key_pair":  cty.StringVal("other"),
		"user_data": cty.StringVal("#!/bin/sh\n"),
	} {
		changed := map[string]cty.Value{}
		for k, x := range attrs {
			changed[k] = x
		}
		changed[attr] = v
		p := w.plan(addr, state, instanceConfig(changed))
		if len(p.RequiresReplace) != 1 || !p.RequiresReplace[0].Equals(cty.GetAttrPath(attr)) {
			t.Errorf("%s change: RequiresReplace = %v", attr, p.RequiresReplace)
		}
	}

	// running = false stops it, true starts it again.
	attrs["running"] = cty.False
	cfg = instanceConfig(attrs)
	p = w.plan(addr, state, cfg)
	if getString(p.Planned, "instance_state") != "stopped" {
		t.Errorf("planned instance_state = %s", getString(p.Planned, "instance_state"))
	}
	a = w.apply(addr, state, cfg)
	state = a.resp.NewState
	if getString(state, "instance_state") != "stopped" || string(w.describe(id).State.Name) != "stopped" {
		t.Errorf("not stopped: %s", getString(state, "instance_state"))
	}
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) {
		t.Fatalf("plan of a stopped instance is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}
	attrs["running"] = cty.True
	a = w.apply(addr, state, instanceConfig(attrs))
	state = a.resp.NewState
	if getString(state, "instance_state") != "running" || getString(state, "public_ip") == "" {
		t.Errorf("not running again: %#v", state)
	}

	// Import reads the same object, user data included.
	imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: id})
	noErrors(t, imp.Diagnostics)
	checkConforms(t, addr, imp.State)
	for _, attr := range []string{"ami", "instance_type", "key_pair", "user_data", "root_volume_id", "public_ip"} {
		if getString(imp.State, attr) != getString(state, attr) {
			t.Errorf("imported %s = %q, want %q", attr, getString(imp.State, attr), getString(state, attr))
		}
	}

	// Delete.
	w.counts.Reset()
	w.destroy(addr, state)
	if got := string(w.describe(id).State.Name); got != "terminated" {
		t.Errorf("state after delete = %s", got)
	}
	if got := w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]; !got.IsNull() {
		t.Errorf("refresh after delete = %#v", got)
	}
	if imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: id}); !imp.Diagnostics.HasErrors() {
		t.Errorf("import of a terminated instance succeeded")
	}
}

func TestInstanceCreatedStopped(t *testing.T) {
	w := newWorld(t, nil)
	addr := resourceAddr("aws_instance", "cold")
	cfg := instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro"), "running": cty.False})
	a := w.apply(addr, cty.NullVal(instanceSchema().ImpliedType()), cfg)
	if got := getString(a.resp.NewState, "instance_state"); got != "stopped" {
		t.Errorf("instance_state = %s", got)
	}
	// Defaults EC2 chose are recorded, and the next plan is a no-op.
	state := w.refresh(providers.ResourceObject{Addr: addr, State: a.resp.NewState})[0]
	if n, ok := getInt(state, "disk_gb"); !ok || n < 1 {
		t.Errorf("disk_gb = %v", state.GetAttr("disk_gb"))
	}
	// (AWS puts the VPC's default group there; moto leaves the list empty.)
	if sgs := state.GetAttr("security_groups"); sgs.IsNull() {
		t.Errorf("security_groups = %#v, want the groups EC2 chose", sgs)
	}
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) {
		t.Fatalf("plan is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}
}

// runTagged starts an instance with the arranging client, as if an earlier
// mlops run had created it and died before recording it.
func (w *world) runTagged(addr addrs.Resource) string {
	w.t.Helper()
	var tags []types.Tag
	for k, v := range ownerTags(addr) {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	out, err := w.ec2.RunInstances(w.ctx, &ec2.RunInstancesInput{
		ImageId: awssdk.String(jammyNewest), InstanceType: types.InstanceTypeT3Micro,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return deref(out.Instances[0].InstanceId)
}

func TestInstanceAdoptsTaggedInstance(t *testing.T) {
	w := newWorld(t, nil)
	addr := resourceAddr("aws_instance", "dev")
	orphan := w.runTagged(addr)
	// An instance of another address or stack is not adopted.
	w.runTagged(resourceAddr("aws_instance", "other"))

	cfg := instanceConfig(map[string]cty.Value{
		"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"),
		"tags": stringMap(map[string]string{"Name": "dev"}),
	})
	w.counts.Reset()
	a := w.apply(addr, cty.NullVal(instanceSchema().ImpliedType()), cfg)
	if got := getString(a.resp.NewState, "id"); got != orphan {
		t.Fatalf("id = %s, want the adopted %s", got, orphan)
	}
	if w.counts.Count("RunInstances") != 0 {
		t.Errorf("RunInstances called %d times", w.counts.Count("RunInstances"))
	}
	if len(a.progress) == 0 || a.progress[0] != "adopted existing "+orphan+" tagged for this address" {
		t.Errorf("progress = %q", a.progress)
	}
	if len(a.created) != 1 || getString(a.created[0], "id") != orphan {
		t.Errorf("Created = %v", a.created)
	}
	if n := len(w.liveInstances()); n != 2 {
		t.Errorf("%d live instances, want 2 (the adopted one and the other address's)", n)
	}
	// Adopted, then brought to the configuration.
	inst := w.describe(orphan)
	if string(inst.InstanceType) != "t3.large" || tagMap(inst.Tags)["Name"] != "dev" {
		t.Errorf("adopted instance not updated: type %s tags %v", inst.InstanceType, tagMap(inst.Tags))
	}
	// A second create does not make a second machine either.
	a = w.apply(addr, cty.NullVal(instanceSchema().ImpliedType()), cfg)
	if getString(a.resp.NewState, "id") != orphan || len(w.liveInstances()) != 2 {
		t.Errorf("second create: id %s, %d live", getString(a.resp.NewState, "id"), len(w.liveInstances()))
	}
}

func TestSecurityGroupAndKeyPairAdoption(t *testing.T) {
	w := newWorld(t, nil)
	sgAddr := resourceAddr("aws_security_group", "dev")
	var tags []types.Tag
	for k, v := range ownerTags(sgAddr) {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	out, err := w.ec2.CreateSecurityGroup(w.ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("dev"),
		Description:       awssdk.String("Managed by mlops"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	w.counts.Reset()
	a := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("dev"), "ingress": cty.TupleVal([]cty.Value{rule(22, "0.0.0.0/0")})}))
	if getString(a.resp.NewState, "id") != deref(out.GroupId) || w.counts.Count("CreateSecurityGroup") != 0 {
		t.Errorf("group not adopted: %s, calls %s", getString(a.resp.NewState, "id"), w.counts)
	}
	if ingress, _, _ := w.groupPerms(deref(out.GroupId)); len(ingress) != 1 {
		t.Errorf("adopted group's ingress = %v", ingress)
	}

	// A key pair imported by a run that died: same key, adopted.
	kpAddr := resourceAddr("aws_key_pair", "dev")
	cfg := keyPairConfig(map[string]cty.Value{"name": cty.StringVal("dev"), "private_key_file": cty.StringVal("~/k")})
	first := w.apply(kpAddr, cty.NullVal(keyPairSchema().ImpliedType()), cfg)
	w.counts.Reset()
	again := w.apply(kpAddr, cty.NullVal(keyPairSchema().ImpliedType()), cfg)
	if w.counts.Count("ImportKeyPair") != 0 || getString(again.resp.NewState, "key_pair_id") != getString(first.resp.NewState, "key_pair_id") {
		t.Errorf("key pair not adopted: %s", w.counts)
	}
}

func TestRefreshBatchesByType(t *testing.T) {
	w := newWorld(t, nil)
	var objs []providers.ResourceObject
	var ids []string
	for i := range 5 {
		addr := resourceAddr("aws_instance", fmt.Sprintf("n%d", i))
		a := w.apply(addr, cty.NullVal(instanceSchema().ImpliedType()),
			instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}))
		objs = append(objs, providers.ResourceObject{Addr: addr, State: a.resp.NewState})
		ids = append(ids, getString(a.resp.NewState, "id"))
	}
	w.counts.Reset()
	states := w.refresh(objs...)
	if got := w.counts.Count("DescribeInstances"); got != 1 {
		t.Errorf("DescribeInstances calls for 5 instances = %d, want 1 (%s)", got, w.counts)
	}
	t.Logf("refresh of 5 instances: %s", w.counts)
	for i, s := range states {
		if getString(s, "id") != ids[i] {
			t.Errorf("state %d has id %s, want %s (request order)", i, getString(s, "id"), ids[i])
		}
	}

	// One terminated behind our back: null in its place, the others intact.
	if _, err := w.ec2.TerminateInstances(w.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{ids[2]}}); err != nil {
		t.Fatal(err)
	}
	// Mixed types in one request: one describe call per type.
	sgAddr := resourceAddr("aws_security_group", "g")
	sg := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(map[string]cty.Value{"name": cty.StringVal("g")}))
	kpAddr := resourceAddr("aws_key_pair", "k")
	kp := w.apply(kpAddr, cty.NullVal(keyPairSchema().ImpliedType()), keyPairConfig(map[string]cty.Value{"name": cty.StringVal("k"), "private_key_file": cty.StringVal("~/k")}))
	goneKey := withAttrs(kp.resp.NewState, map[string]cty.Value{"name": cty.StringVal("gone"), "id": cty.StringVal("gone")})
	goneGroup := withAttrs(sg.resp.NewState, map[string]cty.Value{"id": cty.StringVal("sg-0123456789abcdef0")})
	mixed := append([]providers.ResourceObject{
		{Addr: kpAddr, State: kp.resp.NewState},
		{Addr: sgAddr, State: goneGroup},
		{Addr: resourceAddr("aws_key_pair", "gone"), State: goneKey},
	}, objs...)
	mixed = append(mixed, providers.ResourceObject{Addr: sgAddr, State: sg.resp.NewState})
	w.counts.Reset()
	states = w.refresh(mixed...)
	want := "DescribeInstances=1 DescribeKeyPairs=1 DescribeSecurityGroups=1 DescribeVolumes=1"
	if got := w.counts.String(); got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	var gotIDs []string
	for _, s := range states {
		if s.IsNull() {
			gotIDs = append(gotIDs, "null")
		} else {
			gotIDs = append(gotIDs, getString(s, "id"))
		}
	}
	wantIDs := []string{"k", "null", "null", ids[0], ids[1], "null", ids[3], ids[4], getString(sg.resp.NewState, "id")}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("refreshed ids (-want +got):\n%s", diff)
	}
}

func TestErrorsSayWhatFailed(t *testing.T) {
	var fc *faultClient
	w := newWorld(t, func(next awssdk.HTTPClient) awssdk.HTTPClient {
		fc = &faultClient{next: next, faults: map[string][]fault{
			"RunInstances": {{403, "UnauthorizedOperation", "You are not authorized to perform this operation."}},
		}}
		return fc
	})
	addr := resourceAddr("aws_instance", "dev")
	cfg := instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")})
	plan := w.plan(addr, cty.NullVal(instanceSchema().ImpliedType()), cfg)
	resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: cty.NullVal(instanceSchema().ImpliedType()),
		Planned: plan.Planned, Config: cfg, Tags: ownerTags(addr)})
	// One paragraph: what failed, which permission, AWS's words, what to do.
	for _, want := range []string{"creating EC2 instance of type t3.micro: ", "may not call ec2:RunInstances",
		"You are not authorized to perform this operation.", "ask your account's administrator", "AWS_PROFILE"} {
		if !resp.Diagnostics.HasErrors() || !strings.Contains(strings.ToLower(resp.Diagnostics[0].Detail), strings.ToLower(want)) {
			t.Errorf("diagnostics = %s\nwant detail with %q", diagText(resp.Diagnostics), want)
		}
	}
	if !resp.NewState.IsNull() {
		t.Errorf("failed create left state %#v", resp.NewState)
	}

	// Throttling is retried by the SDK.
	fc.mu.Lock()
	fc.faults["RunInstances"] = []fault{{503, "RequestLimitExceeded", "Request limit exceeded."}, {500, "InternalError", "oops"}}
	fc.mu.Unlock()
	resp = w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: cty.NullVal(instanceSchema().ImpliedType()),
		Planned: plan.Planned, Config: cfg, Tags: ownerTags(addr)})
	noErrors(t, resp.Diagnostics)
	if n := len(w.liveInstances()); n != 1 {
		t.Errorf("%d instances after retried create, want 1", n)
	}
}

func TestConfigureAndSchemasMakeNoCalls(t *testing.T) {
	counts := testworld.NewCountingClient()
	p := New(Options{HTTPClient: counts, Env: []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}})
	p.Schemas()
	resp := p.Configure(t.Context(), providers.ConfigureRequest{Config: cty.ObjectVal(map[string]cty.Value{
		"region": cty.StringVal("eu-west-1"), "profile": cty.NullVal(cty.String), "endpoint": cty.StringVal("http://127.0.0.1:1"),
	})})
	noErrors(t, resp.Diagnostics)
	if counts.Total() != 0 {
		t.Errorf("Configure made calls: %s", counts)
	}
	for _, tt := range []struct {
		region, endpoint, want string
	}{
		{"", "", "needs a region"},
		{"Europe", "", "region must be an AWS region name"},
		{"eu-west-1", "127.0.0.1:5000", "endpoint must be an http or https URL"},
	} {
		ep := cty.NullVal(cty.String)
		if tt.endpoint != "" {
			ep = cty.StringVal(tt.endpoint)
		}
		resp := p.Configure(t.Context(), providers.ConfigureRequest{Config: cty.ObjectVal(map[string]cty.Value{
			"region": cty.StringVal(tt.region), "profile": cty.NullVal(cty.String), "endpoint": ep})})
		if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), tt.want) {
			t.Errorf("Configure(%q, %q) = %s, want %q", tt.region, tt.endpoint, diagText(resp.Diagnostics), tt.want)
		}
	}
}
