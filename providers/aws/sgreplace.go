package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/providers"
)

// A security group whose name, description or VPC changes is replaced:
// deleted, then created. EC2 refuses to delete a group that an instance
// still uses (DependencyViolation, for as long as the instance lives), and
// the instance can only move to the new group once that exists. So when the
// delete meets instances of the same stack, mlops first creates a holding
// group beside the old one (same VPC, same ingress rules, so SSH keeps
// working), moves those instances to it (ModifyInstanceAttribute Groups,
// which changes the primary network interface's groups), and deletes the
// old group. The instance's own update then moves it to the new group, and
// the holding group, no longer used, is deleted. The holding group is
// named holdingPrefix + the old group's ID and carries the stack's tag.

const holdingPrefix = "mlops-holding-"

// moveOffGroup moves this stack's instances off group sg into a holding
// group. It returns the instances that use the group and that mlops may not
// move (of another stack or none), which make the delete impossible.
func (p *Provider) moveOffGroup(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, sg types.SecurityGroup) (blockers []string, err error) {
	id := deref(sg.GroupId)
	users, err := describeInstances(ctx, c, []types.Filter{{Name: awssdk.String("instance.group-id"), Values: []string{id}}})
	if err != nil {
		return nil, err
	}
	stack := tagMapOf(sg.Tags)[tagStack]
	var ours []types.Instance
	for _, inst := range users {
		if isGone(inst) {
			continue // its interface is released when it is terminated
		}
		if stack != "" && tagMapOf(inst.Tags)[tagStack] == stack {
			ours = append(ours, inst)
		} else {
			blockers = append(blockers, deref(inst.InstanceId))
		}
	}
	if len(blockers) > 0 || len(ours) == 0 {
		return blockers, nil
	}
	holding, err := p.holdingGroup(ctx, c, sg)
	if err != nil {
		return nil, fmt.Errorf("creating a holding group for the instances of %s: %w", id, err)
	}
	for _, inst := range ours {
		iid := deref(inst.InstanceId)
		var groups []string
		for _, g := range groupIDs(inst) {
			if g != id {
				groups = append(groups, g)
			}
		}
		groups = append(groups, holding)
		progress(req, "moving %s from %s to holding group %s while %s is replaced", iid, id, holding, id)
		err := p.retryNotFound(ctx, "moving "+iid+" to "+holding, groupNotFound, func() error {
			_, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: awssdk.String(iid), Groups: groups})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("moving instance %s to holding group %s: %w", iid, holding, err)
		}
	}
	return nil, nil
}

// holdingGroup creates (or finds, after a crash) the holding group of sg
// with sg's ingress rules and returns its ID.
func (p *Provider) holdingGroup(ctx context.Context, c *ec2.Client, sg types.SecurityGroup) (string, error) {
	name := holdingPrefix + deref(sg.GroupId)
	filters := []types.Filter{{Name: awssdk.String("group-name"), Values: []string{name}}}
	if v := deref(sg.VpcId); v != "" {
		filters = append(filters, types.Filter{Name: awssdk.String("vpc-id"), Values: []string{v}})
	}
	found, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	if err != nil {
		return "", err
	}
	if len(found.SecurityGroups) > 0 {
		return deref(found.SecurityGroups[0].GroupId), nil
	}
	var tags []types.Tag
	if stack := tagMapOf(sg.Tags)[tagStack]; stack != "" {
		tags = []types.Tag{{Key: awssdk.String(tagStack), Value: awssdk.String(stack)}}
	}
	out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         awssdk.String(name),
		Description:       awssdk.String("mlops: holds the instances of " + deref(sg.GroupId) + " while it is replaced"),
		VpcId:             sg.VpcId,
		TagSpecifications: tagSpecs(tags, types.ResourceTypeSecurityGroup),
	})
	if err != nil {
		return "", err
	}
	hid := deref(out.GroupId)
	if perms := ipPermissions(remotePermissions(sg.IpPermissions)); len(perms) > 0 {
		err := p.retryNotFound(ctx, "copying the rules of "+deref(sg.GroupId)+" to "+hid, groupNotFound, func() error {
			_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(hid), IpPermissions: perms})
			if errorCode(err) == "InvalidPermission.Duplicate" {
				return nil
			}
			return err
		})
		if err != nil {
			return "", err
		}
	}
	return hid, nil
}

// deleteHoldingGroups deletes the holding groups an instance has just left
// (from its groups before, by name); failures are warnings, the group is
// empty and costs nothing.
func (p *Provider) deleteHoldingGroups(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, before []types.GroupIdentifier, now []string) []string {
	var warnings []string
	for _, g := range before {
		gid := deref(g.GroupId)
		if !strings.HasPrefix(deref(g.GroupName), holdingPrefix) || contains(now, gid) {
			continue
		}
		err := p.poll(ctx, "holding group "+gid+" to be deletable", func() (bool, error) {
			_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(gid)})
			switch code := errorCode(err); {
			case err == nil, code == "InvalidGroup.NotFound":
				return true, nil
			case code == "DependencyViolation":
				return false, nil
			}
			return false, err
		})
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("holding group %s (%s) could not be deleted: %s", gid, deref(g.GroupName), describeError(err)))
			continue
		}
		progress(req, "deleted holding group %s", gid)
	}
	return warnings
}

func tagMapOf(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
