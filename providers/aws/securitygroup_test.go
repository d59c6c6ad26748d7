package aws

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// groupPerms describes a group's ingress as sorted strings, from EC2.
func (w *world) groupPerms(id string) (ingress, egress []string, tags map[string]string) {
	w.t.Helper()
	out, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		w.t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	sg := out.SecurityGroups[0]
	for _, p := range remotePermissions(sg.IpPermissions) {
		ingress = append(ingress, p.String())
	}
	for _, p := range remotePermissions(sg.IpPermissionsEgress) {
		egress = append(egress, p.String())
	}
	sort.Strings(ingress)
	sort.Strings(egress)
	tags = map[string]string{}
	for _, t := range sg.Tags {
		tags[deref(t.Key)] = deref(t.Value)
	}
	return ingress, egress, tags
}

func TestSecurityGroupLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	addr := resourceAddr("aws_security_group", "dev")
	cfg := groupConfig(map[string]cty.Value{
		"name": cty.StringVal("mlops-dev"),
		"ingress": cty.TupleVal([]cty.Value{
			rule(22, "0.0.0.0/0"),
			rule(8888, "10.0.0.0/8", "2001:db8::/64"),
		}),
		"tags": stringMap(map[string]string{"team": "ml"}),
	})
	prior := cty.NullVal(securityGroupSchema().ImpliedType())

	// Create.
	a := w.apply(addr, prior, cfg)
	state := a.resp.NewState
	id := getString(state, "id")
	if !strings.HasPrefix(id, "sg-") || len(a.created) != 1 || getString(a.created[0], "id") != id {
		t.Fatalf("id = %q, created = %v", id, a.created)
	}
	if getString(state, "description") != "Managed by mlops" || getString(state, "vpc_id") == "" || getString(state, "arn") == "" {
		t.Errorf("state = %#v", state)
	}
	ingress, egress, tags := w.groupPerms(id)
	want := []string{"tcp/22 from 0.0.0.0/0", "tcp/8888 from 10.0.0.0/8", "tcp/8888 from 2001:db8::/64"}
	if diff := cmp.Diff(want, ingress); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"all traffic from 0.0.0.0/0"}, egress); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"team": "ml", tagStack: testStack, tagAddress: addr.String()}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Refresh and plan again: nothing to do.
	w.counts.Reset()
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if got := w.counts.String(); got != "DescribeSecurityGroups=1" {
		t.Errorf("refresh calls: %s", got)
	}
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) || len(p.RequiresReplace) > 0 {
		t.Fatalf("plan after create is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// Add a rule, drop one, change tags: in place.
	cfg2 := groupConfig(map[string]cty.Value{
		"name": cty.StringVal("mlops-dev"),
		"ingress": cty.TupleVal([]cty.Value{
			rule(22, "0.0.0.0/0"),
			cty.ObjectVal(map[string]cty.Value{"port": cty.NumberIntVal(60000), "to_port": cty.NumberIntVal(61000),
				"protocol": cty.StringVal("udp"), "cidr_blocks": stringList([]string{"203.0.113.7/32"})}),
		}),
		"tags": stringMap(map[string]string{"owner": "me"}),
	})
	w.counts.Reset()
	a = w.apply(addr, state, cfg2)
	if a.resp.NewState.GetAttr("id").AsString() != id {
		t.Fatalf("update replaced the group")
	}
	ingress, egress, tags = w.groupPerms(id)
	want = []string{"tcp/22 from 0.0.0.0/0", "udp/60000-61000 from 203.0.113.7/32"}
	if diff := cmp.Diff(want, ingress); diff != "" {
		t.Errorf("ingress after update (-want +got):\n%s", diff)
	}
	if len(egress) != 1 {
		t.Errorf("egress changed: %v", egress)
	}
	if diff := cmp.Diff(map[string]string{"owner": "me", tagStack: testStack, tagAddress: addr.String()}, tags); diff != "" {
		t.Errorf("tags after update (-want +got):\n%s", diff)
	}
	for _, action := range []string{"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags", "DeleteTags"} {
		if w.counts.Count(action) != 1 {
			t.Errorf("%s calls = %d, want 1 (%s)", action, w.counts.Count(action), w.counts)
		}
	}
	state = a.resp.NewState
	if p := w.plan(addr, w.refresh(providers.ResourceObject{Addr: addr, State: state})[0], cfg2); !p.Planned.RawEquals(state) {
		t.Fatalf("plan after update is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// A rule added outside mlops shows on refresh and is removed by apply.
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id,
		IpPermissions: []types.IpPermission{{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(3306), ToPort: awssdk.Int32(3306),
			IpRanges: []types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if n := state.GetAttr("ingress").LengthInt(); n != 3 {
		t.Fatalf("refresh shows %d rules, want 3: %#v", n, state.GetAttr("ingress"))
	}
	p := w.plan(addr, state, cfg2)
	if p.Planned.RawEquals(state) || len(p.RequiresReplace) > 0 {
		t.Fatalf("plan should update in place; replace=%v", p.RequiresReplace)
	}
	w.apply(addr, state, cfg2)
	if ingress, _, _ = w.groupPerms(id); len(ingress) != 2 {
		t.Errorf("ingress after converging = %v", ingress)
	}

	// Name changes replace.
	cfg3 := groupConfig(map[string]cty.Value{"name": cty.StringVal("other")})
	if p := w.plan(addr, state, cfg3); len(p.RequiresReplace) != 1 || !p.RequiresReplace[0].Equals(cty.GetAttrPath("name")) {
		t.Errorf("RequiresReplace = %v, want [name]", p.RequiresReplace)
	}

	// Delete.
	w.destroy(addr, state)
	if got := w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]; !got.IsNull() {
		t.Errorf("refresh after delete = %#v, want null", got)
	}
}

func TestSecurityGroupDeleteRetriesDependencyViolation(t *testing.T) {
	var fc *faultClient
	w := newWorld(t, func(next awssdk.HTTPClient) awssdk.HTTPClient {
		fc = &faultClient{next: next, faults: map[string][]fault{}}
		return fc
	})
	addr := resourceAddr("aws_security_group", "dev")
	a := w.apply(addr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(map[string]cty.Value{"name": cty.StringVal("dep")}))
	fc.mu.Lock()
	fc.faults["DeleteSecurityGroup"] = []fault{
		{400, "DependencyViolation", "resource sg-x has a dependent object"},
		{400, "DependencyViolation", "resource sg-x has a dependent object"},
	}
	fc.mu.Unlock()
	w.counts.Reset()
	var progress []string
	resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: a.resp.NewState,
		Planned: cty.NullVal(a.resp.NewState.Type()), Progress: func(s string) { progress = append(progress, s) }})
	noErrors(t, resp.Diagnostics)
	// The two faults never reach moto; the third call does.
	if got := w.counts.Count("DeleteSecurityGroup"); got != 1 {
		t.Errorf("DeleteSecurityGroup calls reaching moto = %d, want 1", got)
	}
	if len(progress) != 1 || !strings.Contains(progress[0], "still in use") {
		t.Errorf("progress = %q", progress)
	}

	// A dependency that never goes away ends in a bounded error.
	a = w.apply(addr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(map[string]cty.Value{"name": cty.StringVal("dep2")}))
	fc.mu.Lock()
	for range 100 {
		fc.faults["DeleteSecurityGroup"] = append(fc.faults["DeleteSecurityGroup"], fault{400, "DependencyViolation", "in use"})
	}
	fc.mu.Unlock()
	resp = w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: a.resp.NewState, Planned: cty.NullVal(a.resp.NewState.Type())})
	if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), "deleting security group") ||
		!strings.Contains(diagText(resp.Diagnostics), "timed out") {
		t.Errorf("diagnostics = %s", diagText(resp.Diagnostics))
	}
	if resp.NewState.IsNull() {
		t.Errorf("a group that could not be deleted must stay in state")
	}
}

func TestSecurityGroupPlanRejectsPortlessTCP(t *testing.T) {
	p := New(Options{})
	cfg := groupConfig(map[string]cty.Value{"name": cty.StringVal("x"), "ingress": cty.TupleVal([]cty.Value{
		cty.ObjectVal(map[string]cty.Value{"cidr_blocks": stringList([]string{"10.0.0.0/8"})}),
	})})
	resp := p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: resourceAddr("aws_security_group", "x"),
		Prior: cty.NullVal(securityGroupSchema().ImpliedType()), Config: cfg})
	if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), "ingress[0]: an ingress rule with protocol tcp needs a port") {
		t.Errorf("diagnostics = %s", diagText(resp.Diagnostics))
	}
	// All traffic needs no port.
	cfg = groupConfig(map[string]cty.Value{"name": cty.StringVal("x"), "ingress": cty.TupleVal([]cty.Value{
		cty.ObjectVal(map[string]cty.Value{"protocol": cty.StringVal("-1"), "cidr_blocks": stringList([]string{"10.0.0.0/8"})}),
	})})
	resp = p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: resourceAddr("aws_security_group", "x"),
		Prior: cty.NullVal(securityGroupSchema().ImpliedType()), Config: cfg})
	noErrors(t, resp.Diagnostics)
}

// The apply walker runs independent changes at once on one provider.
func TestConcurrentApplies(t *testing.T) {
	w := newWorld(t, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := resourceAddr("aws_security_group", fmt.Sprintf("g%d", i))
			cfg := groupConfig(map[string]cty.Value{"name": cty.StringVal(addr.Name), "ingress": cty.TupleVal([]cty.Value{rule(22, "0.0.0.0/0")})})
			prior := cty.NullVal(securityGroupSchema().ImpliedType())
			plan := w.p.PlanChange(w.ctx, providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg})
			resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: prior, Planned: plan.Planned, Config: cfg, Tags: ownerTags(addr)})
			if resp.Diagnostics.HasErrors() {
				errs <- diagText(resp.Diagnostics)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := w.counts.Count("CreateSecurityGroup"); got != 8 {
		t.Errorf("CreateSecurityGroup calls = %d, want 8", got)
	}
}
