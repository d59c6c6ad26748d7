package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/shellword"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
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

// The same holds for a converged machine whose block was removed from the
// configuration, or whose key left count or for_each: deleting it destroys
// its disks, and its data volume with them. The deletion is planned and
// shown with what it loses, and apply carries it out only when the user
// named it with -delete=ADDR. mlops state rm ADDR forgets it instead and
// leaves it running; mlops destroy deletes everything, as its name says.

// deleteLoses says what deleting the recorded resource r destroys when it
// is a converged machine (it has layers in state, or host steps), else "".
func (e *Engine) deleteLoses(r *state.Resource, addr addrs.Resource, before cty.Value) string {
	var layers, steps []string
	for _, s := range e.hostSteps(addr, before) {
		steps = append(steps, s.Addr.Name)
	}
	for _, l := range r.Layers {
		if !slices.Contains(steps, l.Name) {
			layers = append(layers, l.Name)
		}
	}
	if len(layers) == 0 && len(steps) == 0 {
		return ""
	}
	var what []string
	if len(layers) > 0 {
		what = append(what, "the software of its layers ("+strings.Join(layers, ", ")+")")
	}
	if len(steps) > 0 {
		what = append(what, "what its host steps hold ("+strings.Join(steps, ", ")+")")
	}
	return "deleting destroys the machine, its disks and everything on them: " + strings.Join(what, " and ") + ", and anything else on it"
}

// ShellAddr is addr as a command-line word: quoted when it holds a key
// (aws_instance.box["alice"]), so that a suggested command can be pasted.
func ShellAddr(addr addrs.Resource) string {
	s := addr.String()
	if strings.ContainsAny(s, `[]"' `) {
		return shellword.Quote(s)
	}
	return s
}

// checkDeleteAddrs reports -delete addresses that name no resource the
// plan deletes: -delete allows a deletion, it never asks for one.
func checkDeleteAddrs(p *Plan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, addr := range p.Deletes {
		if ch := p.Change(addr); ch == nil || ch.Action != Delete {
			diags = append(diags, errDiag("Invalid -delete address",
				fmt.Sprintf("-delete=%s names no resource this plan deletes. -delete allows apply to delete a converged machine that is no longer in the configuration; it does not ask for a deletion (remove the resource's block for that).", addr)))
		}
	}
	return diags
}

// UnnamedReplacements are the guarded replacements and deletions of the
// plan that the user did not name (-replace, -delete): apply refuses them.
// A destroy plan has none (planDestroy guards nothing): running mlops
// destroy names everything.
func (p *Plan) UnnamedReplacements() []*Change {
	var out []*Change
	for _, ch := range p.Changes {
		if ch.Loses != "" && !p.Named(ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Named reports whether the user named a guarded change: a replacement
// with -replace, a deletion with -delete.
func (p *Plan) Named(ch *Change) bool {
	switch ch.Action {
	case Replace:
		return slices.Contains(p.Replace, ch.Addr)
	case Delete:
		return slices.Contains(p.Deletes, ch.Addr)
	}
	return false
}

// CheckReplacements returns one error per replacement or deletion apply
// must refuse, pointing at the resource's block, before anything is
// changed.
func (e *Engine) CheckReplacements(p *Plan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, ch := range p.UnnamedReplacements() {
		if ch.Action == Delete {
			// The block is gone (or the key left count or for_each):
			// nothing to point at but the address.
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("Deleting %s needs -delete=%s", ch.Addr, ShellAddr(ch.Addr)),
				Detail: fmt.Sprintf("The plan deletes %s (%s): %s. mlops does not delete a converged machine unless you name it. "+
					"To keep it, put its block back; to keep it running but no longer manage it, run mlops state rm %s; "+
					"to delete it, run mlops apply -delete=%s. -auto-approve does not change this.",
					ch.Addr, strings.Join(ch.Reasons, "; "), ch.Loses, ShellAddr(ch.Addr), ShellAddr(ch.Addr))})
			continue
		}
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
