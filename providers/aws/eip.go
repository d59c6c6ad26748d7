package aws

import (
	"context"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// An Elastic IP is allocated once and keeps its address for its whole
// life; the instance it points at changes in place (associate,
// disassociate). Nothing about it forces a replacement.

func eipSchema() *schema.Resource {
	return &schema.Resource{
		IDAttr: "id",
		Block: schema.Block{
			Description: "An Elastic IP address (VPC): a public IPv4 address that stays the same when the instance behind it is stopped, started or replaced. Refer to aws_eip.NAME.public_ip for the address.",
			Attributes: map[string]*schema.Attribute{
				"instance": {Type: cty.String, Optional: true, Computed: true, Validate: validatePrefixed("instance", "i-"),
					Description: "The instance to associate the address with (aws_instance.NAME.id). Changes in place. Unset, the association is left as it is: the instance's elastic_ip = aws_eip.NAME.id is the way to give an instance the address and have its public_ip and ssh alias follow."},
				"tags": {Type: cty.Map(cty.String), Optional: true, Validate: validateTags,
					Description: "Tags besides mlops's own."},
				"id":             {Type: cty.String, Computed: true, Description: "The allocation ID (eipalloc-...)."},
				"public_ip":      {Type: cty.String, Computed: true, Description: "The public IPv4 address."},
				"association_id": {Type: cty.String, Computed: true, Description: "The association ID (eipassoc-...) while the address is associated."},
			},
		},
	}
}

func planEIP(req providers.PlanChangeRequest) providers.PlanChangeResponse {
	cfg, prior := req.Config, req.Prior
	keep := map[string]cty.Value{
		"tags":           plannedTags(prior, cfg),
		"id":             cty.UnknownVal(cty.String),
		"public_ip":      cty.UnknownVal(cty.String),
		"association_id": cty.UnknownVal(cty.String),
	}
	if !prior.IsNull() {
		keep["id"], keep["public_ip"] = getAttr(prior, "id"), getAttr(prior, "public_ip")
		if !changed(prior, cfg, "instance") {
			keep["association_id"] = getAttr(prior, "association_id")
		}
	}
	if inst := getAttr(cfg, "instance"); inst.IsKnown() && inst.IsNull() && !prior.IsNull() {
		// Unset: the association is not managed here (an instance's
		// elastic_ip may own it); it stays as EC2 has it.
		keep["instance"], keep["association_id"] = getAttr(prior, "instance"), getAttr(prior, "association_id")
	}
	return providers.PlanChangeResponse{Planned: withAttrs(cfg, keep)}
}

// eipResource is aws_eip's entry in the type table.
func (p *Provider) eipResource() resourceType {
	return resourceType{
		name: "aws_eip", schema: eipSchema, plan: planEIP,
		create: p.createEIP, update: p.updateEIP, delete: p.deleteEIP,
		refresh: p.refreshEIPs, importID: p.importEIP,
	}
}

func (p *Provider) updateEIP(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	addr, found, err := describeOneAddress(ctx, c, id)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("reading Elastic IP "+id, err)}
	}
	if !found {
		return providers.ApplyChangeResponse{NewState: cty.NullVal(eipSchema().ImpliedType()),
			Diagnostics: errorDiag("Elastic IP not found", "Elastic IP %s does not exist (any more); plan again to allocate a new one.", id)}
	}
	return p.convergeEIP(ctx, c, req, addr, req.Prior)
}

func (p *Provider) createEIP(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	null := cty.NullVal(eipSchema().ImpliedType())
	// Adoption: an address tagged for this stack and address was allocated
	// by an earlier run that died before recording it.
	if filters := ownerFilters(req.Tags); filters != nil {
		found, err := describeAddresses(ctx, c, filters)
		if err != nil {
			return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("looking for an Elastic IP tagged for "+req.Addr.String(), err)}
		}
		for _, a := range found {
			if !hasOwnerTags(a.Tags, req.Tags) {
				continue
			}
			progress(req, "adopted existing Elastic IP %s tagged for this address", deref(a.AllocationId))
			// Found by its tags, it may still be missing from reads by ID.
			if _, err := p.waitAddress(ctx, c, deref(a.AllocationId), ""); err != nil {
				return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("reading adopted Elastic IP "+deref(a.AllocationId), err)}
			}
			partial := eipState(a, req.Planned)
			if req.Created != nil {
				req.Created(partial)
			}
			return p.convergeEIP(ctx, c, req, a, partial)
		}
	}
	tags := createTags(req.Tags, getStringMap(req.Config, "tags"))
	out, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            types.DomainTypeVpc,
		TagSpecifications: tagSpecs(tags, types.ResourceTypeElasticIp),
	})
	if err != nil {
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("allocating Elastic IP", err)}
	}
	id := deref(out.AllocationId)
	partial := withAttrs(req.Planned, map[string]cty.Value{
		"id":             cty.StringVal(id),
		"public_ip":      stringOrNull(deref(out.PublicIp)),
		"instance":       cty.NullVal(cty.String),
		"association_id": cty.NullVal(cty.String),
	})
	if req.Created != nil {
		req.Created(partial)
	}
	progress(req, "allocated %s (%s)", deref(out.PublicIp), id)
	// A new address is as allocated: tagged, not associated. EC2 may not
	// know it yet in the calls that follow.
	a, err := p.waitAddress(ctx, c, id, "")
	if err != nil {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: apiDiag("reading new Elastic IP "+id, err)}
	}
	a.Tags = tags
	return p.convergeEIP(ctx, c, req, a, partial)
}

// convergeEIP brings tags and association to the configuration and returns
// the new state; on error, the best known state (current).
func (p *Provider) convergeEIP(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, a types.Address, current cty.Value) providers.ApplyChangeResponse {
	id := deref(a.AllocationId)
	fail := func(what string, err error) providers.ApplyChangeResponse {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: apiDiag(what+" "+id, err)}
	}
	if err := syncTags(ctx, c, id, userTags(a.Tags), getStringMap(req.Config, "tags")); err != nil {
		return fail("tagging Elastic IP", err)
	}
	want, have := getString(req.Config, "instance"), deref(a.InstanceId)
	switch {
	case want == have, want == "":
		// Unset leaves the association to whoever made it.
	default:
		progress(req, "associating %s with %s", deref(a.PublicIp), want)
		var out *ec2.AssociateAddressOutput
		// The instance (or the address) may be too new for EC2 to see.
		err := p.retryNotFound(ctx, "associating "+id+" with "+want, allocationNotFound, func() (err error) {
			out, err = c.AssociateAddress(ctx, &ec2.AssociateAddressInput{
				AllocationId: awssdk.String(id), InstanceId: awssdk.String(want), AllowReassociation: awssdk.Bool(true),
			})
			return err
		})
		if err != nil {
			return fail("associating Elastic IP", err)
		}
		// Reads show the association a while after it was made.
		if _, err := p.waitAddress(ctx, c, id, deref(out.AssociationId)); err != nil {
			return fail("waiting for the association of Elastic IP", err)
		}
	}
	a, found, err := describeOneAddress(ctx, c, id)
	if err != nil {
		return fail("reading Elastic IP", err)
	}
	if !found {
		return providers.ApplyChangeResponse{NewState: cty.NullVal(eipSchema().ImpliedType()),
			Diagnostics: errorDiag("Elastic IP not found", "Elastic IP %s disappeared while it was being updated.", id)}
	}
	return providers.ApplyChangeResponse{NewState: eipState(a, req.Planned)}
}

// disassociate ends the address's current association; one that is gone
// already is no error.
func disassociate(ctx context.Context, c *ec2.Client, a types.Address) error {
	if deref(a.AssociationId) == "" {
		return nil
	}
	_, err := c.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: a.AssociationId})
	if code := errorCode(err); code == "InvalidAssociationID.NotFound" {
		return nil
	}
	return err
}

// deleteEIP disassociates the address (EC2 refuses to release one in use)
// and releases it.
func (p *Provider) deleteEIP(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	null := cty.NullVal(eipSchema().ImpliedType())
	a, found, err := describeOneAddress(ctx, c, id)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("reading Elastic IP "+id, err)}
	}
	if !found {
		return providers.ApplyChangeResponse{NewState: null}
	}
	if err := disassociate(ctx, c, a); err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("disassociating Elastic IP "+id, err)}
	}
	if _, err := c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: awssdk.String(id)}); err != nil && errorCode(err) != "InvalidAllocationID.NotFound" {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("releasing Elastic IP "+id, err)}
	}
	return providers.ApplyChangeResponse{NewState: null}
}

// describeAddresses lists the addresses matching the filters (one call:
// DescribeAddresses is not paginated).
func describeAddresses(ctx context.Context, c *ec2.Client, filters []types.Filter) ([]types.Address, error) {
	out, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: filters})
	if err != nil {
		return nil, err
	}
	return out.Addresses, nil
}

// describeAddressesByID reads addresses by allocation ID with one call. It
// filters on allocation-id rather than passing AllocationIds, which fails
// as a whole when one of them is gone.
func describeAddressesByID(ctx context.Context, c *ec2.Client, ids []string) (map[string]types.Address, error) {
	list, err := describeAddresses(ctx, c, []types.Filter{{Name: awssdk.String("allocation-id"), Values: ids}})
	if err != nil {
		return nil, err
	}
	found := map[string]types.Address{}
	for _, a := range list {
		found[deref(a.AllocationId)] = a
	}
	return found, nil
}

func describeOneAddress(ctx context.Context, c *ec2.Client, id string) (types.Address, bool, error) {
	found, err := describeAddressesByID(ctx, c, []string{id})
	if err != nil {
		return types.Address{}, false, err
	}
	a, ok := found[id]
	return a, ok, nil
}

// eipState builds the state of an address as EC2 describes it; prior gives
// the spelling of tags.
func eipState(a types.Address, prior cty.Value) cty.Value {
	return objectOf(&eipSchema().Block, map[string]cty.Value{
		"instance":       stringOrNull(deref(a.InstanceId)),
		"tags":           tagsValue(userTags(a.Tags), getAttr(prior, "tags")),
		"id":             cty.StringVal(deref(a.AllocationId)),
		"public_ip":      stringOrNull(deref(a.PublicIp)),
		"association_id": stringOrNull(deref(a.AssociationId)),
	})
}

func (p *Provider) refreshEIPs(ctx context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
	return batchRead[types.Address]{
		what: "Elastic IPs", key: "id", null: cty.NullVal(eipSchema().ImpliedType()),
		describe: describeAddressesByID,
		state:    func(a types.Address, prior cty.Value) (cty.Value, bool) { return eipState(a, prior), true },
	}.run(ctx, p, objs)
}

func (p *Provider) importEIP(ctx context.Context, c *ec2.Client, req providers.ImportRequest) providers.ImportResponse {
	if !strings.HasPrefix(req.ID, "eipalloc-") {
		return providers.ImportResponse{Diagnostics: errorDiag("Invalid Elastic IP ID", "%q is not an Elastic IP allocation ID (eipalloc-...).", req.ID)}
	}
	a, found, err := describeOneAddress(ctx, c, req.ID)
	if err != nil {
		return providers.ImportResponse{Diagnostics: apiDiag("reading Elastic IP "+req.ID, err)}
	}
	if !found {
		return providers.ImportResponse{Diagnostics: errorDiag("Elastic IP not found", "There is no Elastic IP %s in this region.", req.ID)}
	}
	return providers.ImportResponse{State: eipState(a, cty.NullVal(eipSchema().ImpliedType()))}
}
