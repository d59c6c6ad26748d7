package plan

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
)

// Validate runs the providers' offline checks (providers.ConfigValidator)
// on every managed resource, evaluated with nothing known about other
// resources, so that `mlops validate` rejects what plan would reject before
// any API call. It makes no network call and needs no configured provider.
func (e *Engine) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, addr := range sortedResources(e.Config.Resources) {
		if addr.Mode != addrs.Managed {
			continue
		}
		prov, ok := e.Providers.ForType(addr.Type)
		if !ok {
			continue
		}
		v, ok := prov.(providers.ConfigValidator)
		if !ok {
			continue
		}
		cfgVal, d := e.Config.EvalResource(addr, nil)
		if d.HasErrors() {
			continue // reported when the configuration was loaded
		}
		resp := v.ValidateResourceConfig(providers.ValidateResourceConfigRequest{Addr: addr, Config: cfgVal})
		diags = append(diags, e.providerSubjects(addr, resp.Diagnostics)...)
	}
	return diags
}

// providerSubjects points provider diagnostics at the line they concern:
// the argument named by providers.AttributeDiag when the block sets it,
// else the block's header.
func (e *Engine) providerSubjects(addr addrs.Resource, diags hcl.Diagnostics) hcl.Diagnostics {
	cr := e.Config.Resources[addr.NoKey()]
	if cr == nil {
		return diags
	}
	for _, d := range diags {
		if d.Subject != nil {
			continue
		}
		if a, ok := d.Extra.(providers.AttributeDiag); ok {
			if rng, ok := e.Config.AttributeRange(addr, a.Name); ok {
				d.Subject = rng.Ptr()
				continue
			}
		}
		d.Subject = cr.DeclRange.Ptr()
	}
	return diags
}

func sortedResources(m map[addrs.Resource]*config.Resource) []addrs.Resource {
	out := make([]addrs.Resource, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
