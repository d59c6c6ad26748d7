package aws

import (
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// newStrictWorld is newWorld with the provider talking to the strict EC2
// layer in front of moto (the arranging client still talks to moto).
func newStrictWorld(t *testing.T) (*world, *testworld.StrictEC2) {
	t.Helper()
	w := newWorld(t, nil)
	s := testworld.StartStrictEC2(t, w.moto.Endpoint(), testworld.StrictOptions{})
	resp := w.p.Configure(w.ctx, providers.ConfigureRequest{Config: cty.ObjectVal(map[string]cty.Value{
		"region":   cty.StringVal(testworld.MotoRegion),
		"profile":  cty.NullVal(cty.String),
		"endpoint": cty.StringVal(s.URL()),
	})})
	noErrors(t, resp.Diagnostics)
	return w, s
}

// TestConsistencyWaits: a security group, an instance and an Elastic IP
// associated with it are created although EC2 does not show each new
// object (nor the new association) in the first read that names it.
func TestConsistencyWaits(t *testing.T) {
	w, s := newStrictWorld(t)
	sg := w.apply(resourceAddr("aws_security_group", "ssh"), cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("ssh"), "ingress": cty.ListVal([]cty.Value{rule(22, "0.0.0.0/0")})}))
	if n := len(getStrings(sg.resp.NewState.GetAttr("ingress").Index(cty.NumberIntVal(0)), "cidr_blocks")); n != 1 {
		t.Errorf("ingress after create: %#v", sg.resp.NewState.GetAttr("ingress"))
	}
	inst := w.apply(resourceAddr("aws_instance", "box"), cty.NullVal(instanceSchema().ImpliedType()),
		instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro"),
			"security_groups": cty.ListVal([]cty.Value{sg.resp.NewState.GetAttr("id")})}))
	id := getString(inst.resp.NewState, "id")
	eip := w.apply(resourceAddr("aws_eip", "ip"), cty.NullVal(eipSchema().ImpliedType()),
		eipConfig(map[string]cty.Value{"instance": cty.StringVal(id)}))
	if getString(eip.resp.NewState, "association_id") == "" || getString(eip.resp.NewState, "instance") != id {
		t.Errorf("Elastic IP state: %#v", eip.resp.NewState)
	}
	for _, kind := range []string{"sg.Hidden", "i.Hidden", "eipalloc.Hidden"} {
		if s.Answered(kind) == 0 {
			t.Errorf("the strict layer never hid a new object (%s): %v", kind, s.AnsweredAll())
		}
	}
}

// TestRefreshChunksFilters: a refresh of more than 200 objects of a type
// stays under EC2's limit of 200 values per filter.
func TestRefreshChunksFilters(t *testing.T) {
	w, s := newStrictWorld(t)
	s.SetHiddenReads(0)
	sg := w.apply(resourceAddr("aws_security_group", "real"), cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("real")}))
	objs := []providers.ResourceObject{{Addr: resourceAddr("aws_security_group", "real"), State: sg.resp.NewState}}
	for i := range 250 {
		st := withAttrs(sg.resp.NewState, map[string]cty.Value{"id": cty.StringVal(fmt.Sprintf("sg-%017d", i))})
		objs = append(objs, providers.ResourceObject{Addr: resourceAddr("aws_security_group", fmt.Sprintf("g%d", i)), State: st})
	}
	w.counts.Reset()
	states := w.refresh(objs...)
	if getString(states[0], "id") != getString(sg.resp.NewState, "id") || !states[1].IsNull() {
		t.Errorf("refresh: %#v, %#v", states[0], states[1])
	}
	if n := w.counts.Count("DescribeSecurityGroups"); n != 2 {
		t.Errorf("DescribeSecurityGroups calls = %d, want 2 (250+1 IDs, 200 a call)", n)
	}
}

// TestTypeChangePrechecks: a type that does not fit the image's
// architecture, or is not offered in the instance's zone, is refused
// before the instance is stopped.
func TestTypeChangePrechecks(t *testing.T) {
	w, _ := newStrictWorld(t)
	addr := resourceAddr("aws_instance", "box")
	attrs := map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}
	st := w.apply(addr, cty.NullVal(instanceSchema().ImpliedType()), instanceConfig(attrs)).resp.NewState
	id := getString(st, "id")
	for typ, want := range map[string]string{"t4g.small": "does not fit the image", "c8in.12xlarge": "not offered in eu-west-1a"} {
		attrs["instance_type"] = cty.StringVal(typ)
		cfg := instanceConfig(attrs)
		plan := w.plan(addr, st, cfg)
		w.counts.Reset()
		resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: st, Planned: plan.Planned, Config: cfg, Tags: ownerTags(addr)})
		if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), want) || !strings.Contains(diagText(resp.Diagnostics), "was not stopped") {
			t.Errorf("%s: want an error saying %q, got %s", typ, want, diagText(resp.Diagnostics))
		}
		if n := w.counts.Count("StopInstances") + w.counts.Count("ModifyInstanceAttribute"); n != 0 {
			t.Errorf("%s: %d stop/modify calls for a type that cannot work", typ, n)
		}
		out, err := w.ec2.DescribeInstances(w.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Reservations[0].Instances[0]; got.State.Name != "running" || got.InstanceType != "t3.micro" {
			t.Errorf("%s: instance is %s, type %s", typ, got.State.Name, got.InstanceType)
		}
	}
}

// TestReplaceGroupInUse: the replacement of a group an instance uses
// (delete, create, then the instance's update, as the engine orders them)
// moves the instance to a holding group with the same rules instead of
// failing with DependencyViolation, and the holding group goes away once
// the instance has its new group.
func TestReplaceGroupInUse(t *testing.T) {
	w, s := newStrictWorld(t)
	sgAddr, instAddr := resourceAddr("aws_security_group", "ssh"), resourceAddr("aws_instance", "box")
	sgCfg := map[string]cty.Value{"name": cty.StringVal("ssh"), "description": cty.StringVal("v1"),
		"ingress": cty.ListVal([]cty.Value{rule(22, "0.0.0.0/0")})}
	old := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(sgCfg)).resp.NewState
	instCfg := map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro"),
		"security_groups": cty.ListVal([]cty.Value{old.GetAttr("id")})}
	inst := w.apply(instAddr, cty.NullVal(instanceSchema().ImpliedType()), instanceConfig(instCfg)).resp.NewState
	id := getString(inst, "id")

	// The engine's replacement: delete first.
	del := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: sgAddr, Prior: old,
		Planned: cty.NullVal(old.Type()), Config: cty.NullVal(old.Type())})
	noErrors(t, del.Diagnostics)
	if s.Answered("DependencyViolation") == 0 {
		t.Fatalf("the group was deleted without ever being in use")
	}
	groups := w.instanceGroups(id)
	if len(groups) != 1 || !strings.HasPrefix(groups[0].name, holdingPrefix) || !groups[0].ssh {
		t.Fatalf("instance groups after the delete: %+v (want one holding group allowing SSH)", groups)
	}
	sgCfg["description"] = cty.StringVal("v2")
	newSG := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(sgCfg)).resp.NewState
	instCfg["security_groups"] = cty.ListVal([]cty.Value{newSG.GetAttr("id")})
	w.apply(instAddr, inst, instanceConfig(instCfg))
	groups = w.instanceGroups(id)
	if len(groups) != 1 || groups[0].id != getString(newSG, "id") {
		t.Fatalf("instance groups after its update: %+v", groups)
	}
	if n := w.groupsNamed(holdingPrefix + getString(old, "id")); n != 0 {
		t.Errorf("holding group left behind")
	}
}

type groupInfo struct {
	id, name string
	ssh      bool
}

// instanceGroups reads an instance's groups, with whether each allows SSH.
func (w *world) instanceGroups(id string) []groupInfo {
	w.t.Helper()
	out, err := w.ec2.DescribeInstances(w.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		w.t.Fatal(err)
	}
	var infos []groupInfo
	for _, g := range out.Reservations[0].Instances[0].SecurityGroups {
		sgs, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{deref(g.GroupId)}})
		if err != nil {
			w.t.Fatal(err)
		}
		info := groupInfo{id: deref(g.GroupId), name: deref(sgs.SecurityGroups[0].GroupName)}
		for _, p := range remotePermissions(sgs.SecurityGroups[0].IpPermissions) {
			info.ssh = info.ssh || (p.proto == "tcp" && p.from <= 22 && p.to >= 22 && p.cidr == "0.0.0.0/0")
		}
		infos = append(infos, info)
	}
	return infos
}

func (w *world) groupsNamed(name string) int {
	w.t.Helper()
	out, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, g := range out.SecurityGroups {
		if deref(g.GroupName) == name {
			n++
		}
	}
	return n
}

// TestICMPRuleRoundTrip: an ICMP rule for one type (echo request), added
// outside mlops, is read as exactly that rule, so the apply that removes
// it revokes what EC2 has, and a rule for one ICMP type can be written.
func TestICMPRuleRoundTrip(t *testing.T) {
	w, _ := newStrictWorld(t)
	addr := resourceAddr("aws_security_group", "web")
	cfg := groupConfig(map[string]cty.Value{"name": cty.StringVal("web"), "ingress": cty.ListVal([]cty.Value{rule(22, "0.0.0.0/0")})})
	st := w.apply(addr, cty.NullVal(securityGroupSchema().ImpliedType()), cfg).resp.NewState
	id := getString(st, "id")
	echo := types.IpPermission{IpProtocol: awssdk.String("icmp"), FromPort: awssdk.Int32(8), ToPort: awssdk.Int32(-1),
		IpRanges: []types.IpRange{{CidrIp: awssdk.String("10.0.0.0/8")}}}
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []types.IpPermission{echo}}); err != nil {
		t.Fatal(err)
	}
	st = w.refresh(providers.ResourceObject{Addr: addr, State: st})[0]
	ing := st.GetAttr("ingress")
	if ing.LengthInt() != 2 {
		t.Fatalf("refreshed ingress: %#v", ing)
	}
	extra := ing.Index(cty.NumberIntVal(1))
	if p, _ := getInt(extra, "port"); getString(extra, "protocol") != "icmp" || p != 8 {
		t.Errorf("the echo-request rule was read as %#v", extra)
	}
	// Removing it revokes exactly it.
	st = w.apply(addr, st, cfg).resp.NewState
	if n := st.GetAttr("ingress").LengthInt(); n != 1 {
		t.Errorf("ingress after the apply: %#v", st.GetAttr("ingress"))
	}
	// Writing it in the configuration gives the same rule.
	withEcho := groupConfig(map[string]cty.Value{"name": cty.StringVal("web"), "ingress": cty.TupleVal([]cty.Value{rule(22, "0.0.0.0/0"),
		cty.ObjectVal(map[string]cty.Value{"protocol": cty.StringVal("icmp"), "port": cty.NumberIntVal(8), "cidr_blocks": stringList([]string{"10.0.0.0/8"})})})})
	st = w.apply(addr, st, withEcho).resp.NewState
	out, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	var got []permission
	for _, p := range remotePermissions(out.SecurityGroups[0].IpPermissions) {
		if p.proto == "icmp" {
			got = append(got, p)
		}
	}
	if len(got) != 1 || got[0].from != 8 || got[0].to != -1 {
		t.Errorf("ICMP rules in EC2: %+v", got)
	}
	if pl := w.plan(addr, st, withEcho); !pl.Planned.GetAttr("ingress").Equals(st.GetAttr("ingress")).True() {
		t.Errorf("a second plan would change the rules: %#v", pl.Planned.GetAttr("ingress"))
	}
}

// TestReachabilityWarningsAndNoDefaultVPC: an instance in the default
// security group (no SSH from outside) or without a public IP is created
// with a warning saying so; in a region without a default VPC the error
// says which settings are missing.
func TestReachabilityWarningsAndNoDefaultVPC(t *testing.T) {
	w, s := newStrictWorld(t)
	addr := resourceAddr("aws_instance", "box")
	null := cty.NullVal(instanceSchema().ImpliedType())
	a := w.apply(addr, null, instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}))
	if txt := diagText(a.resp.Diagnostics); !strings.Contains(txt, "SSH not allowed in") || !strings.Contains(txt, "default group") {
		t.Errorf("instance in the default group: %s", txt)
	}
	sg := w.apply(resourceAddr("aws_security_group", "ssh"), cty.NullVal(securityGroupSchema().ImpliedType()),
		groupConfig(map[string]cty.Value{"name": cty.StringVal("ssh"), "ingress": cty.ListVal([]cty.Value{rule(22, "203.0.113.7/32")})})).resp.NewState
	a = w.apply(resourceAddr("aws_instance", "ok"), null, instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest),
		"instance_type": cty.StringVal("t3.micro"), "security_groups": cty.ListVal([]cty.Value{sg.GetAttr("id")})}))
	if len(a.resp.Diagnostics) != 0 {
		t.Errorf("instance that SSH can reach: %s", diagText(a.resp.Diagnostics))
	}

	// A subnet that assigns no public IPs.
	vpcs, err := w.ec2.DescribeVpcs(w.ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := w.ec2.CreateSubnet(w.ctx, &ec2.CreateSubnetInput{VpcId: vpcs.Vpcs[0].VpcId, CidrBlock: awssdk.String("172.31.200.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	a = w.apply(resourceAddr("aws_instance", "private"), null, instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest),
		"instance_type": cty.StringVal("t3.micro"), "subnet_id": cty.StringVal(deref(sub.Subnet.SubnetId)),
		"security_groups": cty.ListVal([]cty.Value{sg.GetAttr("id")})}))
	if getString(a.resp.NewState, "public_ip") != "" || !strings.Contains(diagText(a.resp.Diagnostics), "Instance without a public IP") {
		t.Errorf("instance without a public IP: %s", diagText(a.resp.Diagnostics))
	}

	s.RemoveDefaultVPC()
	for _, tc := range []struct {
		addr string
		cfg  cty.Value
		want string
	}{
		{"aws_security_group", groupConfig(map[string]cty.Value{"name": cty.StringVal("web")}), "vpc_id"},
		{"aws_instance", instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}), "subnet_id"},
	} {
		ad := resourceAddr(tc.addr, "nodefault")
		plan := w.plan(ad, cty.NullVal(tc.cfg.Type()), tc.cfg)
		resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: ad, Prior: cty.NullVal(tc.cfg.Type()), Planned: plan.Planned, Config: tc.cfg, Tags: ownerTags(ad)})
		if txt := diagText(resp.Diagnostics); !strings.Contains(txt, "No default VPC") || !strings.Contains(txt, tc.want) {
			t.Errorf("%s without a default VPC: %s", tc.addr, txt)
		}
	}
}

// TestVolumeReadsChunkFilters: the instance refresh reads root and data
// volumes by ID; more than 200 of them (a big stack with data volumes) are
// read 200 a call, which EC2's FilterLimitExceeded demands.
func TestVolumeReadsChunkFilters(t *testing.T) {
	w, _ := newStrictWorld(t)
	c, diags := w.p.ec2Client(w.ctx)
	if diags.HasErrors() {
		t.Fatal(diagText(diags))
	}
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = fmt.Sprintf("vol-%017d", i)
	}
	w.counts.Reset()
	found, err := describeVolumesByID(w.ctx, c, ids)
	if err != nil {
		t.Fatalf("reading 250 volume IDs: %v", err)
	}
	if len(found) != 0 {
		t.Errorf("found %d volumes that do not exist", len(found))
	}
	if n := w.counts.Count("DescribeVolumes"); n != 2 {
		t.Errorf("DescribeVolumes calls = %d, want 2 (250 IDs, 200 a call)", n)
	}
}
