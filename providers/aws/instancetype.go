package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
)

// An instance type change stops the machine, changes the attribute and
// starts it again. What can make it fail is checked before the stop, so a
// type that cannot work never costs the user a stopped box: the new type
// must support the architecture of the instance's image, and be offered in
// the instance's Availability Zone.

// checkTypeFits returns an error diagnostic when the instance cannot run as
// type t. Two calls: DescribeInstanceTypes and DescribeInstanceTypeOfferings.
func checkTypeFits(ctx context.Context, c *ec2.Client, inst types.Instance, t string) hcl.Diagnostics {
	id := deref(inst.InstanceId)
	types_, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceType(t)}})
	if err != nil {
		if errorCode(err) == "InvalidInstanceType" {
			return errorDiag("Unknown instance type", "EC2 does not know instance type %q (in this region); %s keeps its type %s and was not stopped.", t, id, inst.InstanceType)
		}
		return apiDiag("checking instance type "+t+" for EC2 instance "+id, err)
	}
	if len(types_.InstanceTypes) == 0 {
		return errorDiag("Unknown instance type", "EC2 does not know instance type %q (in this region); %s keeps its type %s and was not stopped.", t, id, inst.InstanceType)
	}
	if arch := string(inst.Architecture); arch != "" {
		info := types_.InstanceTypes[0]
		var supported []string
		fits := false
		if info.ProcessorInfo != nil {
			for _, a := range info.ProcessorInfo.SupportedArchitectures {
				supported = append(supported, string(a))
				fits = fits || string(a) == arch
			}
		}
		if !fits && len(supported) > 0 {
			return errorDiag("Instance type does not fit the image",
				"Instance type %s runs %s, but the image of %s (%s) is %s: choose a type for %s, or replace the instance with an image for %s. %s was not stopped.",
				t, strings.Join(supported, ", "), id, deref(inst.ImageId), arch, arch, strings.Join(supported, ", "), id)
		}
	}
	az := azOf(inst)
	if inst.Placement == nil || deref(inst.Placement.AvailabilityZone) == "" {
		return nil
	}
	offers, err := c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: types.LocationTypeAvailabilityZone,
		Filters: []types.Filter{
			{Name: awssdk.String("location"), Values: []string{az}},
			{Name: awssdk.String("instance-type"), Values: []string{t}},
		},
	})
	if err != nil {
		return apiDiag("checking the offerings of instance type "+t+" in "+az, err)
	}
	if len(offers.InstanceTypeOfferings) == 0 {
		return errorDiag("Instance type not offered in the instance's zone",
			"Instance type %s is not offered in %s, where %s runs (an instance cannot move between zones): choose another type. %s was not stopped.",
			t, az, id, id)
	}
	return nil
}

// isLaunchPlanMismatch reports the transient error of a start right after
// a type change: EC2 has not finished applying the new type.
func isLaunchPlanMismatch(err error) bool {
	return errorCode(err) == "InvalidParameterValue" && strings.Contains(describeError(err), "LaunchPlan instance type does not match")
}

// startInstances calls StartInstances, retrying the transient
// LaunchPlan error for a bounded time.
func (p *Provider) startInstances(ctx context.Context, c *ec2.Client, id string) error {
	var last error
	err := p.waitConsistent(ctx, "the new type of instance "+id, nil, func() (bool, error) {
		_, last = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		if isLaunchPlanMismatch(last) {
			return false, nil
		}
		return last == nil, last
	})
	if last != nil {
		return last
	}
	return err
}

// stoppedNote is what an error says when mlops stopped a running instance
// and could not start it again.
func stoppedNote(id string) string {
	return fmt.Sprintf("%s is STOPPED now (it was running; mlops stopped it for the type change): run mlops apply again to start it, or start it in the console", id)
}

// startDiag adds to a failed start that the instance is stopped now,
// when mlops stopped it.
func startDiag(d hcl.Diagnostics, stoppedByUs bool, id string) hcl.Diagnostics {
	if stoppedByUs && len(d) > 0 {
		d[0].Detail += "; " + stoppedNote(id)
	}
	return d
}
