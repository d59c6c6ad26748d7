package plan

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// Start starts one stopped machine that st records, and changes nothing
// else: mlops ssh -stdio does it for an ssh alias with wake = true. It
// refreshes st (the machine may have been started meanwhile), asks the
// provider to apply the machine's own refreshed value with running = true,
// and returns the refreshed state with the machine's new value (its new
// address) for the caller to write, and whether it started anything.
func (e *Engine) Start(ctx context.Context, st *state.State, addr addrs.Resource, progress func(string)) (*state.State, bool, hcl.Diagnostics) {
	ref, diags := e.Refresh(ctx, st, RefreshOptions{Destroy: true})
	if diags.HasErrors() {
		return nil, false, diags
	}
	v, ok := ref.Values[addr]
	if !ok || ref.Gone[addr] {
		return nil, false, append(diags, errDiag("Machine not found", addr.String()+" no longer exists; run mlops apply to create it again"))
	}
	if !e.isStopped(addr, v) {
		return ref.State, false, diags
	}
	prov, ok := e.Providers.ForType(addr.Type)
	if !ok {
		return nil, false, append(diags, errDiag("Unknown resource type", addr.Type))
	}
	pw := e.power(addr)
	if pw.Start == nil {
		return nil, false, append(diags, errDiag("Machine cannot be started", addr.String()+" is stopped and its provider cannot start it"))
	}
	planned := pw.Start(v)
	resp := prov.ApplyChange(ctx, providers.ApplyChangeRequest{Addr: addr, Prior: v, Planned: planned, Config: planned, Progress: progress})
	diags = append(diags, resp.Diagnostics...)
	if sr := ref.State.Resource(addr.String()); sr != nil && resp.NewState != cty.NilVal && !resp.NewState.IsNull() {
		if raw, err := encodeValue(resp.NewState); err == nil {
			sr.Attributes = raw
		}
	}
	return ref.State, !resp.Diagnostics.HasErrors(), diags
}
