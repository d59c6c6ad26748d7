package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/providers"
)

// An instance's elastic_ip names an Elastic IP (aws_eip.NAME.id) that the
// instance associates with itself once it exists. The instance then
// depends on the address, not the other way round, so the instance's
// public_ip, its ssh block (self.public_ip) and its ssh alias all carry the
// Elastic IP from the first apply on, without a dependency cycle. EC2
// keeps the association across stops and starts.

// syncElasticIP associates or disassociates the instance's Elastic IP as
// configured and returns the instance as EC2 shows it afterwards, with the
// address as its public IP. Nothing is called when neither the
// configuration nor the prior state names an address.
func (p *Provider) syncElasticIP(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance) (types.Instance, error) {
	want, had := getString(req.Config, "elastic_ip"), getString(req.Prior, "elastic_ip")
	id := deref(inst.InstanceId)
	if want == "" && had == "" {
		return inst, nil
	}
	var wantIP, oldIP string
	switch {
	case want != "":
		a, err := p.waitAddress(ctx, c, want, "")
		if err != nil {
			return inst, err
		}
		wantIP = deref(a.PublicIp)
		if s := stateOf(inst); s == stateStopped || s == stateStopping {
			// A stopped instance keeps its association; its public IP
			// is shown again once it runs.
			if deref(a.InstanceId) == id {
				return inst, nil
			}
			wantIP = ""
		}
		// Associated but not shown as the instance's address (moto drops
		// it at a restart): associate again, it is idempotent.
		if deref(a.InstanceId) != id || (wantIP != "" && deref(inst.PublicIpAddress) != wantIP) {
			progress(req, "associating Elastic IP %s with %s", wantIP, id)
			var out *ec2.AssociateAddressOutput
			err := p.retryNotFound(ctx, "associating "+want+" with "+id, allocationNotFound, func() (err error) {
				out, err = c.AssociateAddress(ctx, &ec2.AssociateAddressInput{
					AllocationId: awssdk.String(want), InstanceId: awssdk.String(id), AllowReassociation: awssdk.Bool(true)})
				return err
			})
			if err != nil {
				return inst, fmt.Errorf("associating Elastic IP %s: %w", want, err)
			}
			if _, err := p.waitAddress(ctx, c, want, deref(out.AssociationId)); err != nil {
				return inst, err
			}
		}
	default:
		a, found, err := describeOneAddress(ctx, c, had)
		if err != nil {
			return inst, err
		}
		if !found || deref(a.InstanceId) != id {
			return inst, nil
		}
		oldIP = deref(a.PublicIp)
		progress(req, "disassociating Elastic IP %s from %s", oldIP, id)
		if err := disassociate(ctx, c, a); err != nil {
			return inst, fmt.Errorf("disassociating Elastic IP %s: %w", had, err)
		}
	}
	// The instance shows its new public address a moment later; the state
	// and the ssh alias must not keep an address it no longer has.
	var last types.Instance
	err := p.waitConsistent(ctx, "the public IP of "+id, nil, func() (bool, error) {
		got, found, err := describeOneInstance(ctx, c, id)
		if err != nil || !found {
			return false, err
		}
		last = got
		ip := deref(got.PublicIpAddress)
		switch {
		case wantIP != "":
			return ip == wantIP, nil
		case oldIP != "":
			return ip != oldIP, nil
		}
		return true, nil
	})
	return last, err
}
