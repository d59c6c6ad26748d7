package aws

import (
	"fmt"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

func eipConfig(attrs map[string]cty.Value) cty.Value {
	return configOf(&eipSchema().Block, attrs)
}

// address reads an Elastic IP with the arranging client; ok is false when
// it is released.
func (w *world) address(id string) (types.Address, bool) {
	w.t.Helper()
	out, err := w.ec2.DescribeAddresses(w.ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, a := range out.Addresses {
		if deref(a.AllocationId) == id {
			return a, true
		}
	}
	return types.Address{}, false
}

func (w *world) runInstance(name string) string {
	w.t.Helper()
	a := w.apply(resourceAddr("aws_instance", name), cty.NullVal(instanceSchema().ImpliedType()),
		instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}))
	return getString(a.resp.NewState, "id")
}

// TestEIPLifecycle: allocate with tags, associate, move to another
// instance, all in place; unset instance leaves the association alone;
// release (after disassociating).
func TestEIPLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	i1, i2 := w.runInstance("a"), w.runInstance("b")
	addr := resourceAddr("aws_eip", "ip")
	attrs := map[string]cty.Value{"instance": cty.StringVal(i1), "tags": stringMap(map[string]string{"Name": "dev-ip"})}

	// Plan of a new address: everything EC2 decides is unknown.
	p := w.plan(addr, cty.NullVal(eipSchema().ImpliedType()), eipConfig(attrs))
	for _, a := range []string{"id", "public_ip", "association_id"} {
		if p.Planned.GetAttr(a).IsKnown() {
			t.Errorf("planned %s is known", a)
		}
	}

	w.counts.Reset()
	a := w.apply(addr, cty.NullVal(eipSchema().ImpliedType()), eipConfig(attrs))
	t.Logf("create: %s", w.counts)
	st := a.resp.NewState
	id := getString(st, "id")
	if len(a.created) != 1 || getString(a.created[0], "id") != id {
		t.Errorf("Created = %v", a.created)
	}
	remote, ok := w.address(id)
	if !ok || deref(remote.InstanceId) != i1 || deref(remote.PublicIp) != getString(st, "public_ip") ||
		getString(st, "association_id") == "" || getString(st, "instance") != i1 {
		t.Fatalf("after create: state %#v\nremote %+v", st, remote)
	}
	wantTags := map[string]string{"Name": "dev-ip", tagStack: testStack, tagAddress: "aws_eip.ip"}
	if d := cmp.Diff(wantTags, tagMap(remote.Tags)); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}
	if n := w.counts.Count("AllocateAddress"); n != 1 {
		t.Errorf("AllocateAddress calls = %d", n)
	}

	// Refresh, then plan: nothing to do.
	st = w.refresh(providers.ResourceObject{Addr: addr, State: st})[0]
	if p := w.plan(addr, st, eipConfig(attrs)); !p.Planned.RawEquals(st) || len(p.RequiresReplace) > 0 {
		t.Fatalf("plan after create is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, st)
	}

	// Move to the other instance: in place, same address.
	ip := getString(st, "public_ip")
	attrs["instance"] = cty.StringVal(i2)
	attrs["tags"] = stringMap(map[string]string{"Name": "moved"})
	p = w.plan(addr, st, eipConfig(attrs))
	if len(p.RequiresReplace) > 0 || p.Planned.GetAttr("association_id").IsKnown() || getString(p.Planned, "public_ip") != ip {
		t.Errorf("plan of a move: replace %v, planned %#v", p.RequiresReplace, p.Planned)
	}
	st = w.apply(addr, st, eipConfig(attrs)).resp.NewState
	remote, _ = w.address(id)
	if deref(remote.InstanceId) != i2 || getString(st, "public_ip") != ip || getString(st, "instance") != i2 || tagMap(remote.Tags)["Name"] != "moved" {
		t.Errorf("after move: state %#v remote %+v", st, remote)
	}

	// Unset: the association is not managed here (an instance's
	// elastic_ip may own it), so it is left alone.
	delete(attrs, "instance")
	p = w.plan(addr, st, eipConfig(attrs))
	if v := p.Planned.GetAttr("association_id"); !v.Equals(st.GetAttr("association_id")).True() || getString(p.Planned, "instance") != i2 {
		t.Errorf("plan with instance unset: %#v, want the association kept", p.Planned)
	}
	st = w.apply(addr, st, eipConfig(attrs)).resp.NewState
	if remote, _ = w.address(id); deref(remote.InstanceId) != i2 || getString(st, "instance") != i2 {
		t.Errorf("after an apply with instance unset: state %#v remote %+v", st, remote)
	}

	// Associate again and destroy: disassociated, then released.
	attrs["instance"] = cty.StringVal(i1)
	st = w.apply(addr, st, eipConfig(attrs)).resp.NewState
	w.counts.Reset()
	w.destroy(addr, st)
	if _, ok := w.address(id); ok {
		t.Errorf("address %s still allocated after destroy", id)
	}
	if got, want := w.counts.String(), "DescribeAddresses=1 DisassociateAddress=1 ReleaseAddress=1"; got != want {
		t.Errorf("destroy calls = %s, want %s", got, want)
	}
	// Destroying what is gone already is no error; a refresh says it is gone.
	w.destroy(addr, st)
	if got := w.refresh(providers.ResourceObject{Addr: addr, State: st})[0]; !got.IsNull() {
		t.Errorf("refresh of a released address = %#v", got)
	}
}

// TestEIPRefreshBatchedAndAdoption: one DescribeAddresses for many
// addresses; an address tagged for the stack and address is adopted
// instead of allocating a second one.
func TestEIPRefreshBatchedAndAdoption(t *testing.T) {
	w := newWorld(t, nil)
	var objs []providers.ResourceObject
	for i := range 3 {
		addr := resourceAddr("aws_eip", fmt.Sprintf("ip%d", i))
		a := w.apply(addr, cty.NullVal(eipSchema().ImpliedType()), eipConfig(nil))
		objs = append(objs, providers.ResourceObject{Addr: addr, State: a.resp.NewState})
	}
	if _, err := w.ec2.ReleaseAddress(w.ctx, &ec2.ReleaseAddressInput{AllocationId: awssdk.String(getString(objs[1].State, "id"))}); err != nil {
		t.Fatal(err)
	}
	w.counts.Reset()
	states := w.refresh(objs...)
	if got := w.counts.String(); got != "DescribeAddresses=1" {
		t.Errorf("refresh of 3 addresses: %s, want one DescribeAddresses", got)
	}
	if !states[1].IsNull() || getString(states[0], "id") != getString(objs[0].State, "id") || getString(states[2], "id") != getString(objs[2].State, "id") {
		t.Errorf("refreshed = %#v", states)
	}

	// An address allocated by a run that died before recording it.
	addr := resourceAddr("aws_eip", "orphan")
	var tags []types.Tag
	for k, v := range ownerTags(addr) {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	out, err := w.ec2.AllocateAddress(w.ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeElasticIp, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	i1 := w.runInstance("a")
	w.counts.Reset()
	a := w.apply(addr, cty.NullVal(eipSchema().ImpliedType()), eipConfig(map[string]cty.Value{"instance": cty.StringVal(i1)}))
	if getString(a.resp.NewState, "id") != deref(out.AllocationId) || w.counts.Count("AllocateAddress") != 0 {
		t.Errorf("not adopted: state %#v, calls %s", a.resp.NewState, w.counts)
	}
	if remote, _ := w.address(deref(out.AllocationId)); deref(remote.InstanceId) != i1 {
		t.Errorf("adopted address not associated: %+v", remote)
	}
	if len(a.progress) == 0 || a.progress[0] != "adopted existing Elastic IP "+deref(out.AllocationId)+" tagged for this address" {
		t.Errorf("progress = %q", a.progress)
	}

	// Import by allocation ID.
	imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: deref(out.AllocationId)})
	noErrors(t, imp.Diagnostics)
	if getString(imp.State, "instance") != i1 || getString(imp.State, "public_ip") != deref(out.PublicIp) {
		t.Errorf("import = %#v", imp.State)
	}
	if imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: "i-123"}); !imp.Diagnostics.HasErrors() {
		t.Errorf("import of a non-allocation id succeeded")
	}
}
