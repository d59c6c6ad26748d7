package aws

import (
	"testing"

	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// priorInstance is a recorded running instance.
func priorInstance() cty.Value {
	return objectOf(&instanceSchema().Block, map[string]cty.Value{
		"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"),
		"security_groups": stringList([]string{"sg-1"}), "disk_gb": cty.NumberIntVal(30),
		"subnet_id": cty.StringVal("subnet-1"), "running": cty.True,
		"id": cty.StringVal("i-1"), "public_ip": cty.StringVal("54.214.0.1"), "private_ip": cty.StringVal("10.0.0.1"),
		"public_dns": cty.StringVal("ec2-54-214-0-1.compute.amazonaws.com"), "instance_state": cty.StringVal("running"),
		"availability_zone": cty.StringVal("eu-west-1a"), "root_volume_id": cty.StringVal("vol-1"),
		"root_volume_type": cty.StringVal("gp3"), "imdsv2": cty.True,
	})
}

func TestPlanInstanceWithUnknowns(t *testing.T) {
	p := New(Options{})
	addr := resourceAddr("aws_instance", "dev")
	plan := func(prior, cfg cty.Value) providers.PlanChangeResponse {
		t.Helper()
		resp := p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg})
		noErrors(t, resp.Diagnostics)
		return resp
	}

	// Create with a security group that does not exist yet.
	cfg := instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"),
		"security_groups": cty.UnknownVal(cty.List(cty.String))})
	resp := plan(cty.NullVal(instanceSchema().ImpliedType()), cfg)
	for _, a := range []string{"id", "public_ip", "disk_gb", "subnet_id", "security_groups"} {
		if resp.Planned.GetAttr(a).IsKnown() {
			t.Errorf("planned %s should be unknown", a)
		}
	}
	if !resp.Planned.Type().Equals(instanceSchema().ImpliedType()) {
		t.Fatalf("planned type %#v", resp.Planned.Type())
	}

	// Unset optional+computed attributes keep what EC2 chose: no change.
	prior := priorInstance()
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large")})
	if resp := plan(prior, cfg); !resp.Planned.RawEquals(prior) {
		t.Errorf("planned %#v\nwant prior %#v", resp.Planned, prior)
	}

	// An unknown AMI may differ: replacement.
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.UnknownVal(cty.String), "instance_type": cty.StringVal("t3.large")})
	if resp := plan(prior, cfg); len(resp.RequiresReplace) != 1 || !resp.RequiresReplace[0].Equals(cty.GetAttrPath("ami")) {
		t.Errorf("RequiresReplace = %v", resp.RequiresReplace)
	}

	// A type change of a stopped instance needs no restart note.
	stopped := withAttrs(prior, map[string]cty.Value{"running": cty.False, "instance_state": cty.StringVal("stopped"), "public_ip": cty.NullVal(cty.String)})
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.xlarge"), "running": cty.False})
	resp = plan(stopped, cfg)
	if len(resp.Notes) != 0 || len(resp.RequiresReplace) != 0 || getString(resp.Planned, "instance_state") != "stopped" {
		t.Errorf("notes %q replace %v state %s", resp.Notes, resp.RequiresReplace, getString(resp.Planned, "instance_state"))
	}

	// Growing the disk is in place, shrinking replaces.
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"), "disk_gb": cty.NumberIntVal(31)})
	if resp := plan(prior, cfg); len(resp.RequiresReplace) != 0 {
		t.Errorf("grow: RequiresReplace = %v", resp.RequiresReplace)
	}
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"), "disk_gb": cty.NumberIntVal(29)})
	if resp := plan(prior, cfg); len(resp.RequiresReplace) != 1 {
		t.Errorf("shrink: RequiresReplace = %v", resp.RequiresReplace)
	}

	// A configured subnet that differs replaces; an unset one does not.
	cfg = instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.large"), "subnet_id": cty.StringVal("subnet-2")})
	if resp := plan(prior, cfg); len(resp.RequiresReplace) != 1 || !resp.RequiresReplace[0].Equals(cty.GetAttrPath("subnet_id")) {
		t.Errorf("subnet: RequiresReplace = %v", resp.RequiresReplace)
	}
}

func TestPlanSecurityGroupKeepsComputed(t *testing.T) {
	p := New(Options{})
	addr := resourceAddr("aws_security_group", "dev")
	prior := objectOf(&securityGroupSchema().Block, map[string]cty.Value{
		"name": cty.StringVal("dev"), "description": cty.StringVal("Managed by mlops"), "vpc_id": cty.StringVal("vpc-1"),
		"id": cty.StringVal("sg-1"), "arn": cty.StringVal("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-1"),
		"ingress": cty.ListValEmpty(ingressType()),
	})
	cfg := groupConfig(map[string]cty.Value{"name": cty.StringVal("dev")})
	resp := p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg})
	noErrors(t, resp.Diagnostics)
	if !resp.Planned.RawEquals(prior) {
		t.Errorf("planned %#v\nwant prior %#v", resp.Planned, prior)
	}
	cfg = groupConfig(map[string]cty.Value{"name": cty.StringVal("dev"), "vpc_id": cty.StringVal("vpc-2")})
	resp = p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg})
	if len(resp.RequiresReplace) != 1 || !resp.RequiresReplace[0].Equals(cty.GetAttrPath("vpc_id")) {
		t.Errorf("RequiresReplace = %v", resp.RequiresReplace)
	}
}
