package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// resourceType is everything the provider does for one resource type. The
// Provider methods (Schemas, ValidateResourceConfig, Refresh, PlanChange,
// ApplyChange, Import) find the type in the table and call its functions;
// they hold no per-type code. The functions are method values bound to the
// provider, built once by resourceTypes.
type resourceType struct {
	name   string
	schema func() *schema.Resource
	// validate is the part of plan that needs no API call, for `mlops
	// validate`; nil when the schema's own checks are all there is.
	validate func(addr addrs.Resource, cfg cty.Value) hcl.Diagnostics
	// plan proposes the new state; the config is never null here.
	plan func(req providers.PlanChangeRequest) providers.PlanChangeResponse
	// create (Prior null), update (neither null) and delete (Planned null)
	// carry out one change with a client the dispatcher already has.
	create func(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse
	update func(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse
	delete func(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse
	// refresh reads every recorded object of the type with one describe
	// call (see batchRead).
	refresh func(ctx context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics)
	// importID reads one existing object by its ID.
	importID func(ctx context.Context, c *ec2.Client, req providers.ImportRequest) providers.ImportResponse
}

// dataSourceType is one data source: its schema and its read.
type dataSourceType struct {
	name   string
	schema func() *schema.Resource
	read   func(ctx context.Context, c *ec2.Client, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse
}

// resourceTypes is the table of resource types, one line per type; each
// type's functions live in its own file. The order is the order of Refresh's
// diagnostics.
func (p *Provider) resourceTypes() []resourceType {
	return []resourceType{
		p.keyPairResource(),
		p.securityGroupResource(),
		p.instanceResource(),
		p.eipResource(),
	}
}

// dataSourceTypes is the table of data sources.
func (p *Provider) dataSourceTypes() []dataSourceType {
	return []dataSourceType{
		{name: "aws_ami", schema: amiSchema, read: p.readAMI},
	}
}

// resourceType finds a resource type of the table.
func (p *Provider) resourceType(name string) (resourceType, bool) {
	for _, t := range p.resources {
		if t.name == name {
			return t, true
		}
	}
	return resourceType{}, false
}

func unknownResourceType(name string) hcl.Diagnostics {
	return providers.ErrorDiag("Unknown resource type", "The aws provider has no resource type %s.", name)
}
