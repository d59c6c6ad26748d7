package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
)

// A new instance that nobody can reach is a box that costs money and
// times out on SSH minutes later. After creating one, mlops says at once
// when it has no public address, or when none of its security groups lets
// SSH (TCP port 22) in from anywhere: warnings, since a VPN or another
// port may be the user's plan. One extra call (DescribeSecurityGroups).

func (p *Provider) reachabilityWarnings(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance) hcl.Diagnostics {
	id := deref(inst.InstanceId)
	var diags hcl.Diagnostics
	if deref(inst.PublicIpAddress) == "" && getString(req.Config, "elastic_ip") == "" && stateOf(inst) == stateRunning {
		diags = append(diags, warningDiag("Instance without a public IP",
			"EC2 instance %s has no public IPv4 address: its subnet %s does not assign public addresses to new instances (MapPublicIpOnLaunch is false), so SSH from the internet cannot reach it. "+
				"Give it an Elastic IP (elastic_ip = aws_eip.NAME.id), choose a subnet that assigns public IPs (a default subnet does), or reach it through a VPN or bastion.",
			id, deref(inst.SubnetId))...)
	}
	groups := groupIDs(inst)
	hint := "add an aws_security_group with an ingress rule for port 22 from your address and list it in security_groups"
	if len(groups) == 0 {
		// EC2 lists the VPC's default group; moto lists none.
		return append(diags, warningDiag("SSH not allowed in",
			"EC2 instance %s is in its VPC's default group, which accepts traffic only from its own members, so SSH to it will time out: %s.", id, hint)...)
	}
	found, err := describeGroups(ctx, c, groups)
	if err != nil {
		return diags // a warning's check failing is not worth an error
	}
	var names []string
	for _, g := range groups {
		sg, ok := found[g]
		if !ok {
			return diags
		}
		for _, perm := range remotePermissions(sg.IpPermissions) {
			if perm.proto == "-1" || (perm.proto == "tcp" && perm.from <= 22 && perm.to >= 22) {
				return diags
			}
		}
		names = append(names, fmt.Sprintf("%s (%s)", g, deref(sg.GroupName)))
	}
	if len(names) == 1 && strings.HasSuffix(names[0], "(default)") {
		hint = "the VPC's default group accepts traffic only from its own members: " + hint
	}
	return append(diags, warningDiag("SSH not allowed in",
		"No security group of EC2 instance %s allows TCP port 22 from any address (%s), so SSH to it will time out: %s. If SSH listens on another port, make sure a rule allows that one.",
		id, strings.Join(names, ", "), hint)...)
}

// noDefaultVPC explains EC2's error for a create that needs the region's
// default VPC where there is none.
func noDefaultVPC(what string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No default VPC",
		Detail: what + ": this region has no default VPC (VPCIdNotSpecified), and mlops was not told which one to use. " +
			"Set subnet_id on the aws_instance and vpc_id on the aws_security_group (aws ec2 describe-subnets lists them), " +
			"or create the default VPC once with `aws ec2 create-default-vpc`."}}
}
