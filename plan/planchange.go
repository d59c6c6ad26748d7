package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// planDestroy plans the deletion of every managed resource ref records, and
// of the outputs.
func (e *Engine) planDestroy(ref *Refreshed, p *Plan) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	for _, r := range ref.State.Resources {
		addr, _ := stateAddr(r)
		if addr.Mode != addrs.Managed {
			continue
		}
		ch := &Change{Addr: addr, Action: Delete, Before: ref.Values[addr], Dependencies: parseAddrs(r.Dependencies)}
		rs, _ := resourceSchema(e.Schemas, addr)
		ch.After = cty.NullVal(rs.ImpliedType())
		if ref.Gone[addr] {
			continue // nothing left to delete
		}
		if cr := e.Config.Resources[addr.NoKey()]; cr != nil && cr.PreventDestroy {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Instance cannot be destroyed",
				Detail:  fmt.Sprintf("%s has lifecycle.prevent_destroy set, but the plan calls for it to be destroyed. To allow this, set prevent_destroy = false.", addr),
				Subject: cr.DeclRange.Ptr()})
		}
		p.Changes = append(p.Changes, ch)
	}
	sortChanges(p.Changes)
	for name, o := range ref.State.Outputs {
		p.Outputs = append(p.Outputs, &OutputChange{Name: name, Action: Delete, Before: decodeOutput(name, o, &diags), After: cty.NullVal(cty.DynamicPseudoType), Sensitive: o.Sensitive})
	}
	sortOutputs(p.Outputs)
	return p, diags
}

// planData reads a data source whose configuration is known (or records
// it as unknown) and puts its value, as the lock file pins it, in vals.
func (e *Engine) planData(ctx context.Context, ref *Refreshed, p *Plan, addr addrs.Resource, cfgVal cty.Value, vals config.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cr := e.Config.Resources[addr.NoKey()]
	rs := cr.Schema
	prov, _ := e.Providers.ForType(addr.Type)
	if !cfgVal.IsWhollyKnown() {
		vals[addr] = cty.UnknownVal(rs.ImpliedType())
		return diags
	}
	var resp providers.ReadDataSourceResponse
	if r := ref.data[addr]; r != nil && r.config.RawEquals(cfgVal) {
		<-r.done
		resp = r.resp
	} else {
		resp = prov.ReadDataSource(ctx, providers.ReadDataSourceRequest{Addr: addr, Config: cfgVal})
	}
	diags = append(diags, withSubject(resp.Diagnostics, cr.DeclRange)...)
	if !resp.Diagnostics.HasErrors() {
		v, lc, note := e.lockedData(addr, rs, resp.State, ref.Values[addr])
		vals[addr] = v
		p.Lock.SetData(addr.Type, addr.Name, v)
		if lc != nil {
			p.LockChanges = append(p.LockChanges, lc)
		}
		if note != "" {
			p.Notes = append(p.Notes, note)
		}
	}
	return diags
}

// planManaged asks the provider to plan one managed resource and decides
// its action; nil when the provider's plan failed.
func (e *Engine) planManaged(ctx context.Context, ref *Refreshed, opts PlanOptions, addr addrs.Resource, cfgVal cty.Value) (*Change, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	cr := e.Config.Resources[addr.NoKey()]
	rs := cr.Schema
	prov, _ := e.Providers.ForType(addr.Type)
	prior, exists := ref.Values[addr]
	if !exists {
		prior = cty.NullVal(rs.ImpliedType())
	}
	forced := exists && slices.Contains(opts.Replace, addr)
	resp := prov.PlanChange(ctx, providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfgVal, Replace: forced})
	diags = append(diags, e.providerSubjects(addr, resp.Diagnostics)...)
	if resp.Diagnostics.HasErrors() {
		return nil, diags
	}
	ch := &Change{Addr: addr, Before: prior, After: resp.Planned, Notes: resp.Notes,
		PreventDestroy: cr.PreventDestroy, Dependencies: cr.DependsOn, Sensitive: e.Config.SensitiveAttributes(addr)}
	sr := ref.State.Resource(addr.String())
	switch {
	case !exists:
		ch.Action = Create
		if ref.Gone[addr] {
			ch.Reasons = append(ch.Reasons, "it was deleted outside mlops")
		}
	case sr != nil && sr.Status == "tainted":
		ch.Action = Replace
		ch.Reasons = append(ch.Reasons, "it is tainted: its creation did not finish")
	case len(resp.RequiresReplace) > 0 || forced:
		ch.Action = Replace
		ch.ReplacePaths = resp.RequiresReplace
		for _, path := range resp.RequiresReplace {
			ch.Reasons = append(ch.Reasons, pathString(path)+" forces replacement")
		}
		if forced {
			ch.Reasons = append(ch.Reasons, ReasonReplaceRequested)
		}
	case resp.Planned.RawEquals(prior):
		ch.Action = NoOp
	default:
		ch.Action = Update
	}
	e.guardReplacement(ch, resp)
	if ch.Action == Replace && cr.PreventDestroy {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Instance cannot be destroyed",
			Detail:  fmt.Sprintf("%s has lifecycle.prevent_destroy set, but the plan calls for it to be replaced (%s).", addr, strings.Join(ch.Reasons, ", ")),
			Subject: cr.DeclRange.Ptr()})
	}
	if ch.Action != NoOp {
		ch.Notes = resp.Notes
	} else {
		ch.Notes = nil
	}
	return ch, diags
}

// planOrphans plans the deletion of recorded resources that are no longer
// configured.
func (e *Engine) planOrphans(ref *Refreshed, p *Plan, planned, unexpanded map[addrs.Resource]bool) {
	for _, r := range ref.State.Resources {
		addr, _ := stateAddr(r)
		if addr.Mode != addrs.Managed || planned[addr] || unexpanded[addr.NoKey()] || ref.Gone[addr] {
			continue
		}
		rs, _ := resourceSchema(e.Schemas, addr)
		p.Changes = append(p.Changes, &Change{Addr: addr, Action: Delete, Before: ref.Values[addr],
			After: cty.NullVal(rs.ImpliedType()), Reasons: []string{e.goneReason(addr)},
			Dependencies: parseAddrs(r.Dependencies), Loses: e.deleteLoses(r, addr, ref.Values[addr])})
	}
}

// record puts a provider's refreshed states of objs in r. The caller holds
// the lock guarding r.
func (r *Refreshed) record(objs []providers.ResourceObject, states []cty.Value) {
	for i, o := range objs {
		v := states[i]
		if v == cty.NilVal || v.IsNull() {
			// Gone: forgotten by the refreshed state; the plan says
			// it was deleted outside mlops.
			r.Gone[o.Addr] = true
			delete(r.Values, o.Addr)
			r.State.RemoveResource(o.Addr.String())
			continue
		}
		r.Values[o.Addr] = v
		if sr := r.State.Resource(o.Addr.String()); sr != nil {
			if raw, err := encodeValue(v); err == nil {
				sr.Attributes = raw
			}
		}
	}
}
