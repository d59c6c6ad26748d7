package plan

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// Engine holds what planning and applying need from outside. Every
// dependency is injected: the configuration, the providers, the SSH hosts
// and the hooks.
type Engine struct {
	Config    *config.Config
	Providers providers.Registry
	// Hosts opens SSH sessions; it may be nil when no resource has layers.
	Hosts   providers.Hosts
	Schemas schema.Schemas
	Hooks   Hooks
	// Parallelism bounds concurrent operations (default 10).
	Parallelism int

	// seen holds the host keys seen at first contact in this run.
	seen hostKeyBook
	// Lock is the lock file as read (nil: none). Plan and apply use its
	// values; see lockedData.
	Lock *lockfile.Lock
	// Upgrade re-resolves everything the lock pins (plan -upgrade).
	Upgrade bool
}

func (e *Engine) hooks() Hooks {
	if e.Hooks == nil {
		return NoHooks{}
	}
	return e.Hooks
}

func (e *Engine) parallelism() int {
	if e.Parallelism < 1 {
		return 10
	}
	return e.Parallelism
}

// PlanOptions select the kind of plan.
type PlanOptions struct {
	Destroy bool
	// SkipRefresh plans against the recorded state without reading the cloud.
	SkipRefresh bool
	// Replace are the resources named with -replace (see replace.go).
	Replace []addrs.Resource
	// Deletes are the resources named with -delete: converged machines
	// no longer configured that apply may delete (see replace.go).
	Deletes []addrs.Resource
}

// ConfigureProviders configures every provider the configuration or the
// state uses. It makes no network call.
func (e *Engine) ConfigureProviders(ctx context.Context, st *state.State) hcl.Diagnostics {
	var diags hcl.Diagnostics
	used := map[string]bool{}
	for addr := range e.Config.Resources {
		used[providers.ProviderName(addr.Type)] = true
	}
	if st != nil {
		for _, r := range st.Resources {
			used[providers.ProviderName(r.Type)] = true
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := e.Providers[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown provider",
				Detail: fmt.Sprintf("No provider named %q is built into mlops.", name)})
			continue
		}
		var cfg cty.Value
		if _, ok := e.Config.Providers[name]; ok {
			v, d := e.Config.EvalProvider(name)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			cfg = v
		} else if blk := e.Schemas.Provider[name]; blk != nil {
			cfg = nullObject(blk.ImpliedType())
		} else {
			cfg = cty.EmptyObjectVal
		}
		diags = append(diags, p.Configure(ctx, providers.ConfigureRequest{Config: cfg}).Diagnostics...)
	}
	return diags
}

// nullObject is an object of type ty whose attributes are all null.
func nullObject(ty cty.Type) cty.Value {
	if !ty.IsObjectType() {
		return cty.NullVal(ty)
	}
	attrs := map[string]cty.Value{}
	for n, t := range ty.AttributeTypes() {
		attrs[n] = cty.NullVal(t)
	}
	if len(attrs) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(attrs)
}

// Refreshed is the observed state: the recorded state with every managed
// resource re-read from its provider.
type Refreshed struct {
	State *state.State
	// Values holds the observed value of each recorded resource.
	Values map[addrs.Resource]cty.Value
	// Gone lists recorded resources that no longer exist.
	Gone map[addrs.Resource]bool

	// data holds the data source reads started with the refresh, for Plan.
	data map[addrs.Resource]*dataRead
}

// dataRead is a data source read started before Plan needs it.
type dataRead struct {
	config cty.Value // what it was read with
	done   chan struct{}
	resp   providers.ReadDataSourceResponse // set when done is closed
}

// startDataReads starts reading, in the background, every data source whose
// configuration depends on no resource (variables and locals only: known
// before anything is refreshed), at most parallelism at a time. Plan then
// takes the answer instead of reading after the refresh: the lookups overlap
// the refresh's API calls. A data source that cannot be evaluated now is
// left to Plan, which reports its problems.
func (e *Engine) startDataReads(ctx context.Context) map[addrs.Resource]*dataRead {
	reads := map[addrs.Resource]*dataRead{}
	sem := make(chan struct{}, e.parallelism())
	for addr, cr := range e.Config.Resources {
		if addr.Mode != addrs.Data || len(cr.DependsOn) > 0 {
			continue
		}
		prov, ok := e.Providers.ForType(addr.Type)
		if !ok {
			continue
		}
		cfg, diags := e.Config.EvalResource(addr, nil)
		if diags.HasErrors() || !cfg.IsWhollyKnown() {
			continue
		}
		r := &dataRead{config: cfg, done: make(chan struct{})}
		reads[addr] = r
		go func() {
			defer close(r.done)
			sem <- struct{}{}
			defer func() { <-sem }()
			r.resp = prov.ReadDataSource(ctx, providers.ReadDataSourceRequest{Addr: addr, Config: cfg})
		}()
	}
	return reads
}

// RefreshOptions tune Refresh.
type RefreshOptions struct {
	// Skip reads nothing: the recorded state is taken as it is.
	Skip bool
	// Destroy: the plan to come is a destroy plan, which needs no data
	// source, so none is read.
	Destroy bool
}

// Refresh reads every recorded managed resource, one batched call per
// provider, the providers at the same time. Unless opts say otherwise, it
// also starts reading the data sources that depend on no resource (see
// startDataReads), which Plan then uses.
func (e *Engine) Refresh(ctx context.Context, st *state.State, opts RefreshOptions) (*Refreshed, hcl.Diagnostics) {
	skip := opts.Skip
	var diags hcl.Diagnostics
	out := &Refreshed{State: st.DeepCopy(), Values: map[addrs.Resource]cty.Value{}, Gone: map[addrs.Resource]bool{}}
	byProvider := map[string][]providers.ResourceObject{}
	for _, r := range out.State.Resources {
		addr, err := stateAddr(r)
		if err != nil {
			diags = append(diags, errDiag("Invalid state", err.Error()))
			continue
		}
		rs, err := resourceSchema(e.Schemas, addr)
		if err != nil {
			diags = append(diags, errDiag("Invalid state", err.Error()))
			continue
		}
		v, err := decodeState(r, rs)
		if err != nil {
			diags = append(diags, errDiag("Invalid state", err.Error()))
			continue
		}
		out.Values[addr] = v
		if addr.Mode != addrs.Managed || skip {
			continue
		}
		e.hooks().Refreshing(addr, r.ID)
		name := providers.ProviderName(addr.Type)
		byProvider[name] = append(byProvider[name], providers.ResourceObject{Addr: addr, State: v})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if len(byProvider) > 0 && !opts.Destroy {
		out.data = e.startDataReads(ctx)
	}
	names := make([]string, 0, len(byProvider))
	for n := range byProvider {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range names {
		objs := byProvider[name]
		p := e.Providers[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := p.Refresh(ctx, providers.RefreshRequest{Resources: objs})
			mu.Lock()
			defer mu.Unlock()
			diags = append(diags, resp.Diagnostics...)
			if resp.Diagnostics.HasErrors() {
				return
			}
			if len(resp.States) != len(objs) {
				diags = append(diags, errDiag("Provider error", fmt.Sprintf("provider %s returned %d states for %d resources", name, len(resp.States), len(objs))))
				return
			}
			out.record(objs, resp.States)
		}()
	}
	wg.Wait()
	return out, diags
}

// Plan computes the changes that make reality match the configuration.
// ref is the refreshed state from Refresh.
func (e *Engine) Plan(ctx context.Context, ref *Refreshed, opts PlanOptions) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	p := &Plan{Destroy: opts.Destroy, Lineage: ref.State.Lineage, Serial: ref.State.Serial, Variables: map[string]cty.Value{}, Replace: opts.Replace, Deletes: opts.Deletes}
	if d := e.checkReplaceAddrs(opts.Replace); d.HasErrors() {
		return nil, d
	}
	p.Upgrade = e.Upgrade
	if !opts.Destroy {
		p.Lock = e.Lock.Clone()
	}
	for name, v := range e.Config.Variables {
		p.Variables[name] = v.Value
	}
	vals := config.Values{}
	order, cycle := TopoOrder(e.Config)
	if cycle != nil {
		return nil, hcl.Diagnostics{errDiag("Dependency cycle", strings.Join(addrStrings(cycle), " -> "))}
	}

	if opts.Destroy {
		return e.planDestroy(ref, p)
	}

	// Resources with count or for_each are expanded into their instances
	// when their turn comes, once the values they depend on are planned.
	queue, planned, unexpanded := order, map[addrs.Resource]bool{}, map[addrs.Resource]bool{}
	for len(queue) > 0 {
		addr := queue[0]
		queue = queue[1:]
		if insts, ok := e.expand(addr, vals, &diags); ok {
			unexpanded[addr] = insts == nil
			queue = append(insts, queue...)
			continue
		}
		planned[addr] = true
		cr := e.Config.Resources[addr.NoKey()]
		if _, ok := e.Providers.ForType(addr.Type); !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown resource type", Detail: addr.Type, Subject: cr.DeclRange.Ptr()})
			continue
		}
		cfgVal, d := e.Config.EvalResource(addr, vals)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if addr.Mode == addrs.Data {
			diags = append(diags, e.planData(ctx, ref, p, addr, cfgVal, vals)...)
			continue
		}
		ch, d := e.planManaged(ctx, ref, opts, addr, cfgVal)
		diags = append(diags, d...)
		if ch == nil {
			continue
		}
		vals[addr] = ch.After
		p.Changes = append(p.Changes, ch)
	}

	e.planOrphans(ref, p, planned, unexpanded)
	sortChanges(p.Changes)
	if d := checkDeleteAddrs(p); d.HasErrors() {
		return nil, d
	}
	if diags.HasErrors() {
		return p, diags
	}

	diags = append(diags, e.planLayers(ctx, ref, p, vals)...)
	e.upgradeLockChanges(p)
	e.lockFoundPackages(p)
	diags = append(diags, e.planOutputs(ref, p, vals)...)
	return p, diags
}

// decodeOutput reads a recorded output. One that does not decode (a state
// edited by hand, a damaged file) counts as absent, with a warning: the
// next apply records it again.
func decodeOutput(name string, o *state.Output, diags *hcl.Diagnostics) cty.Value {
	v, err := decodeOutputValue(o)
	if err == nil && !v.IsWhollyKnown() {
		err = fmt.Errorf("it holds unknown values")
	}
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unreadable output in the state",
			Detail: fmt.Sprintf("The state's value of output %q cannot be read (%v); it is treated as absent and recorded again by the next apply.", name, err)})
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v
}

func sortOutputs(os []*OutputChange) {
	sort.Slice(os, func(i, j int) bool { return os[i].Name < os[j].Name })
}

func (e *Engine) planOutputs(ref *Refreshed, p *Plan, vals config.Values) hcl.Diagnostics {
	outs, diags := e.Config.EvalOutputs(vals)
	for name, v := range outs {
		oc := &OutputChange{Name: name, After: v, Before: cty.NullVal(cty.DynamicPseudoType)}
		if co := e.Config.Outputs[name]; co != nil {
			oc.Sensitive = co.Sensitive
		}
		if prev, ok := ref.State.Outputs[name]; ok {
			oc.Before = decodeOutput(name, prev, &diags)
			if v.IsWhollyKnown() && oc.Before.Equals(v).True() {
				oc.Action = NoOp
			} else {
				oc.Action = Update
			}
		} else {
			oc.Action = Create
		}
		p.Outputs = append(p.Outputs, oc)
	}
	for name, o := range ref.State.Outputs {
		if _, ok := outs[name]; !ok {
			p.Outputs = append(p.Outputs, &OutputChange{Name: name, Action: Delete, Before: decodeOutput(name, o, &diags), After: cty.NullVal(cty.DynamicPseudoType), Sensitive: o.Sensitive})
		}
	}
	sortOutputs(p.Outputs)
	return diags
}

// pathString renders an attribute path as users write it: ingress[0].port.
func pathString(p cty.Path) string { return addrs.PathString(p) }

func errDiag(summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
}

// withSubject points provider diagnostics without a range at the block.
func withSubject(diags hcl.Diagnostics, rng hcl.Range) hcl.Diagnostics {
	for _, d := range diags {
		if d.Subject == nil {
			d.Subject = rng.Ptr()
		}
	}
	return diags
}
