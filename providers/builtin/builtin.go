// Package builtin is the provider of resource types that need no API: the
// `host` resource, an existing machine reached over SSH whose only managed
// content is its software layers.
package builtin

import (
	"context"

	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// Provider serves the `host` resource type.
type Provider struct{}

// New returns the builtin provider.
func New() *Provider { return &Provider{} }

var hostSchema = &schema.Resource{
	Block: schema.Block{
		Description: "An existing machine reached over SSH; mlops manages only its layers.",
		Attributes: map[string]*schema.Attribute{
			"id": {Type: cty.String, Computed: true, Description: "host.NAME"},
		},
	},
	IDAttr:   "id",
	SSH:      true,
	Existing: true,
}

// Schemas implements providers.Provider.
func (p *Provider) Schemas() schema.Schemas {
	return schema.Schemas{
		Resources: map[string]*schema.Resource{"host": hostSchema},
	}
}

// Configure implements providers.Provider.
func (p *Provider) Configure(context.Context, providers.ConfigureRequest) providers.ConfigureResponse {
	return providers.ConfigureResponse{}
}

// ReadDataSource implements providers.Provider; there are no data sources.
func (p *Provider) ReadDataSource(_ context.Context, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	return providers.ReadDataSourceResponse{Diagnostics: providers.ErrorDiag("Unknown data source", "The builtin provider has no data source %s.", req.Addr.Type)}
}

// Refresh implements providers.Provider: a host exists as long as it is recorded.
func (p *Provider) Refresh(_ context.Context, req providers.RefreshRequest) providers.RefreshResponse {
	out := make([]cty.Value, len(req.Resources))
	for i, r := range req.Resources {
		out[i] = r.State
	}
	return providers.RefreshResponse{States: out}
}

func hostValue(name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("host." + name)})
}

// PlanChange implements providers.Provider.
func (p *Provider) PlanChange(_ context.Context, req providers.PlanChangeRequest) providers.PlanChangeResponse {
	return providers.PlanChangeResponse{Planned: hostValue(req.Addr.Name)}
}

// ApplyChange implements providers.Provider.
func (p *Provider) ApplyChange(_ context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	if req.Planned.IsNull() {
		return providers.ApplyChangeResponse{NewState: cty.NullVal(hostSchema.ImpliedType())}
	}
	return providers.ApplyChangeResponse{NewState: hostValue(req.Addr.Name)}
}

// Import implements providers.Provider.
func (p *Provider) Import(_ context.Context, req providers.ImportRequest) providers.ImportResponse {
	return providers.ImportResponse{State: hostValue(req.Addr.Name)}
}
