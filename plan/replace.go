package plan

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// A user's machine is a pet: replacing one that was converged (it has
// layers or host steps such as a data volume) destroys its root disk and
// everything on it. Such a replacement is planned and shown with what it
// loses (Change.Loses), but apply carries it out only when the user named
// the resource with -replace=ADDR; -auto-approve does not change that.
// -replace=ADDR also forces the replacement of a resource nothing else
// would replace.

// ReasonReplaceRequested is the reason of a replacement forced with -replace.
const ReasonReplaceRequested = "replacement requested with -replace"

// checkReplaceAddrs reports -replace addresses that name no managed
// resource of the configuration.
func (e *Engine) checkReplaceAddrs(replace []addrs.Resource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, addr := range replace {
		if cr := e.Config.Resources[addr.NoKey()]; cr == nil || addr.Mode != addrs.Managed {
			diags = append(diags, errDiag("Invalid -replace address",
				fmt.Sprintf("-replace=%s names no resource of the configuration.", addr)))
		}
	}
	return diags
}

// named reports whether addr is among the -replace addresses.
func named(replace []addrs.Resource, addr addrs.Resource) bool {
	for _, r := range replace {
		if r == addr {
			return true
		}
	}
	return false
}

// guardReplacement records what a replacement loses when the resource is a
// converged host: it has layers or host steps. resp is the provider's plan.
func (e *Engine) guardReplacement(ch *Change, resp providers.PlanChangeResponse) {
	if ch.Action != Replace || resp.ReplaceLoses == "" {
		return
	}
	cr := e.Config.Resources[ch.Addr.NoKey()]
	if cr == nil || (len(cr.Layers) == 0 && len(e.hostSteps(ch.Addr, ch.Before)) == 0) {
		return
	}
	ch.Loses = resp.ReplaceLoses
}

// UnnamedReplacements are the guarded replacements of the plan that the
// user did not name with -replace: apply refuses them.
func (p *Plan) UnnamedReplacements() []*Change {
	var out []*Change
	for _, ch := range p.Changes {
		if ch.Action == Replace && ch.Loses != "" && !named(p.Replace, ch.Addr) {
			out = append(out, ch)
		}
	}
	return out
}

// CheckReplacements returns one error per replacement apply must refuse,
// pointing at the resource's block, before anything is changed.
func (e *Engine) CheckReplacements(p *Plan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, ch := range p.UnnamedReplacements() {
		d := &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: fmt.Sprintf("Replacing %s needs -replace=%s", ch.Addr, ch.Addr),
			Detail: fmt.Sprintf("The plan replaces %s (%s): %s. mlops does not replace a converged machine unless you name it: "+
				"mlops apply -replace=%s. -auto-approve does not change this. To keep the machine, undo the change that forces the replacement.",
				ch.Addr, strings.Join(ch.Reasons, "; "), ch.Loses, ch.Addr)}
		if cr := e.Config.Resources[ch.Addr.NoKey()]; cr != nil {
			d.Subject = cr.DeclRange.Ptr()
		}
		diags = append(diags, d)
	}
	return diags
}

// hostSteps are the steps a resource's value asks of its host
// (schema.Resource.HostSteps), as layers.
func (e *Engine) hostSteps(addr addrs.Resource, v cty.Value) []providers.Layer {
	rs, err := resourceSchema(e.Schemas, addr)
	if err != nil || rs.HostSteps == nil || v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	var out []providers.Layer
	for _, s := range rs.HostSteps(v) {
		out = append(out, providers.Layer{Addr: addrs.Layer{Resource: addr, Name: s.Name}, Kind: s.Kind, Config: s.Config,
			Digest: providers.LayerDigest(s.Kind, s.Config)})
	}
	return out
}

// withHostSteps puts the host steps of v before the configured layers. A
// configured layer may not take a step's name.
func (e *Engine) withHostSteps(addr addrs.Resource, v cty.Value, layers []providers.Layer) ([]providers.Layer, hcl.Diagnostics) {
	steps := e.hostSteps(addr, v)
	if len(steps) == 0 {
		return layers, nil
	}
	var diags hcl.Diagnostics
	for _, s := range steps {
		for _, l := range layers {
			if l.Addr.Name == s.Addr.Name {
				d := errDiag("Reserved layer name", fmt.Sprintf("%s: the layer name %q is reserved for the host step of the same name; rename the layer.", addr, s.Addr.Name))
				if cr := e.Config.Resources[addr.NoKey()]; cr != nil {
					d.Subject = cr.DeclRange.Ptr()
				}
				diags = append(diags, d)
			}
		}
	}
	return append(steps, layers...), diags
}

// unreachableSteps warns about host steps of a resource without an ssh
// block: nothing can carry them out (a data volume stays unformatted and
// unmounted).
func (e *Engine) unreachableSteps(ch *Change) hcl.Diagnostics {
	steps := e.hostSteps(ch.Addr, ch.After)
	if len(steps) == 0 {
		return nil
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Host step without SSH",
		Detail: fmt.Sprintf("%s asks its host for the step %q, but has no ssh block: mlops cannot reach the machine to carry it out (a data volume is attached, but not formatted or mounted). Add an ssh block.", ch.Addr, steps[0].Addr.Name)}
	if cr := e.Config.Resources[ch.Addr.NoKey()]; cr != nil {
		d.Subject = cr.DeclRange.Ptr()
	}
	return hcl.Diagnostics{d}
}
