package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ApplyOptions are the outside dependencies of an apply.
type ApplyOptions struct {
	// Persist stores the state. It is called after every operation that
	// changed it, never concurrently.
	Persist func(*state.State) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TickInterval is how often StillApplying fires (default 10s).
	TickInterval time.Duration
	// Lock, when not nil, is updated with what this apply resolves and
	// installs (see commitLockData and recordLockFactsLocked); the caller
	// writes it afterwards, also after a partial failure.
	Lock *lockfile.Lock
}

// applier is the state of one apply walk.
type applier struct {
	e    *Engine
	opts ApplyOptions
	plan *Plan

	mu    sync.Mutex // guards st, vals, diags, persistFailed
	st    *state.State
	vals  config.Values
	diags hcl.Diagnostics
	// dataUsed holds the value each data source had in this apply.
	dataUsed map[addrs.Resource]cty.Value

	// halt stops the scheduling of new operations (a failed state write).
	halt          context.CancelFunc
	persistFailed bool
}

// node is one unit of work in the apply graph.
type node struct {
	name string
	deps []*node
	run  func(ctx context.Context) bool // false = failed
	done chan struct{}
	ok   bool
}

// StackTags are put on every object mlops creates, so that a crashed
// apply's objects can be found and adopted and a stack's objects listed.
func StackTags(lineage string, addr addrs.Resource) map[string]string {
	return map[string]string{"mlops:stack": lineage, "mlops:address": addr.String()}
}

// Apply carries out the plan against st, the refreshed state the plan was
// made from, which it updates and persists after every operation.
//
// stop is the first interrupt: once it is done no new operation starts.
// ops is given to operations in flight: cancelling it (second interrupt)
// abandons them.
func (e *Engine) Apply(stop, ops context.Context, p *Plan, st *state.State, opts ApplyOptions) hcl.Diagnostics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = 10 * time.Second
	}
	a := &applier{e: e, opts: opts, plan: p, st: st, vals: config.Values{}, dataUsed: map[addrs.Resource]cty.Value{}}
	// A state written before layer records held digests loses the
	// verbatim contents and commands with this apply's first write.
	scrubLayerRecords(e.Schemas, st)
	// Start from what is recorded; values of gone resources are dropped.
	for _, r := range st.Resources {
		addr, err := stateAddr(r)
		if err != nil {
			continue
		}
		rs, err := resourceSchema(e.Schemas, addr)
		if err != nil {
			continue
		}
		if v, err := decodeState(r, rs); err == nil && !v.IsNull() {
			a.vals[addr] = v
		}
	}
	// Every object this apply creates is tagged with the lineage
	// (StackTags), so the lineage must be stored before the first object
	// exists: a run killed right after its first create call would
	// otherwise leave an object tagged for a stack that no state records,
	// and the next run, with a fresh lineage, would create it a second
	// time instead of adopting it. Serial 0 means nothing is stored yet.
	if st.Serial == 0 && !p.Destroy && opts.Persist != nil {
		if err := opts.Persist(st); err != nil {
			return hcl.Diagnostics{errDiag("Failed to save state", "the new state must be stored before anything is created: "+err.Error())}
		}
	}
	// A failed state write halts the scheduling: an object created now
	// could not be recorded either (see persistLocked).
	interrupted := stop
	stop, a.halt = context.WithCancel(stop)
	defer a.halt()
	nodes, applyN := a.buildGraph()
	a.runGraph(stop, ops, nodes)
	a.commitLockData(applyN)
	if interrupted.Err() != nil {
		a.addDiag(errDiag("Interrupted", "Apply was interrupted: operations in flight were finished or abandoned and the state was saved. Run apply again to continue."))
	}
	if !a.diagsHaveErrors() && !p.Destroy {
		a.recordOutputs()
	}
	if p.Destroy && !a.diagsHaveErrors() {
		a.mu.Lock()
		a.st.Outputs = nil
		for _, r := range append([]*state.Resource{}, a.st.Resources...) {
			if r.Mode == state.ModeData {
				a.st.RemoveResource(r.Address)
			}
		}
		a.persistLocked()
		a.mu.Unlock()
	}
	return a.diags
}

// runGraph runs the nodes, each once its dependencies succeeded, at most
// e.parallelism() at a time; once stop is done no node starts.
func (a *applier) runGraph(stop, ops context.Context, nodes []*node) {
	sem := make(chan struct{}, a.e.parallelism())
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(n.done)
			for _, d := range n.deps {
				<-d.done
				if !d.ok {
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-stop.Done():
				return
			}
			defer func() { <-sem }()
			if stop.Err() != nil {
				return
			}
			n.ok = n.run(ops)
		}()
	}
	wg.Wait()
}

func (a *applier) addDiag(ds ...*hcl.Diagnostic) {
	a.mu.Lock()
	a.diags = append(a.diags, ds...)
	a.mu.Unlock()
}

func (a *applier) diagsHaveErrors() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.diags.HasErrors()
}

// persistLocked writes the state; a.mu must be held.
func (a *applier) persistLocked() {
	if a.opts.Persist == nil {
		return
	}
	if err := a.opts.Persist(a.st); err != nil {
		detail := err.Error()
		if !a.persistFailed && a.halt != nil {
			detail += "; mlops started no new operation after this failed state write (what it would create could not be recorded either): operations in flight finished, then apply stopped. Run apply again once the state can be written."
			a.halt()
		}
		a.persistFailed = true
		a.diags = append(a.diags, errDiag("Failed to save state", detail))
	}
}

// buildGraph turns the plan into nodes with dependencies:
// creates and updates after their dependencies; deletes before the deletes
// of what they depend on; a replacement's create after its delete.
func (a *applier) buildGraph() ([]*node, map[addrs.Resource]*node) {
	p := a.plan
	applyN := map[addrs.Resource]*node{}
	deleteN := map[addrs.Resource]*node{}
	readN := map[addrs.Resource]*node{}
	var all []*node
	mk := func(name string, run func(context.Context) bool) *node {
		n := &node{name: name, run: run, done: make(chan struct{})}
		all = append(all, n)
		return n
	}
	if !p.Destroy {
		for addr, cr := range a.e.Config.Resources {
			if addr.Mode == addrs.Data {
				readN[addr] = mk("read "+addr.String(), func(ctx context.Context) bool { return a.readData(ctx, cr) })
			}
		}
	}
	for _, ch := range p.Changes {
		switch ch.Action {
		case Delete, Replace:
			deleteN[ch.Addr] = mk("delete "+ch.Addr.String(), func(ctx context.Context) bool { return a.deleteResource(ctx, ch) })
		}
		switch {
		case ch.Action == Create || ch.Action == Update || ch.Action == Replace:
			applyN[ch.Addr] = mk("apply "+ch.Addr.String(), func(ctx context.Context) bool { return a.applyResource(ctx, ch) })
		case ch.Action == NoOp && ch.LayerActions() > 0:
			applyN[ch.Addr] = mk("layers "+ch.Addr.String(), func(ctx context.Context) bool { return a.convergeHost(ctx, ch, false, false, "") })
		}
	}
	byBlock := instancesByBlock(p)
	dependents := map[addrs.Resource][]*Change{} // X -> changes of resources that depend on X
	for _, ch := range p.Changes {
		for _, d := range instanceDeps(ch.Dependencies, byBlock) {
			dependents[d] = append(dependents[d], ch)
		}
	}
	for addr, n := range applyN {
		ch := p.Change(addr)
		for _, d := range instanceDeps(ch.Dependencies, byBlock) {
			if dn := applyN[d]; dn != nil {
				n.deps = append(n.deps, dn)
			}
			if dn := readN[d]; dn != nil {
				n.deps = append(n.deps, dn)
			}
		}
		if dn := deleteN[addr]; dn != nil {
			n.deps = append(n.deps, dn)
		}
	}
	for addr, n := range readN {
		for _, d := range instanceDeps(a.e.Config.Resources[addr].DependsOn, byBlock) {
			if dn := applyN[d]; dn != nil {
				n.deps = append(n.deps, dn)
			}
			if dn := readN[d]; dn != nil {
				n.deps = append(n.deps, dn)
			}
		}
	}
	for addr, n := range deleteN {
		for _, dep := range dependents[addr] {
			if dn := deleteN[dep.Addr]; dn != nil {
				n.deps = append(n.deps, dn)
			} else if an := applyN[dep.Addr]; an != nil && a.plan.Change(addr).Action == Delete {
				// A resource that stops using this one is updated first.
				n.deps = append(n.deps, an)
			}
		}
	}
	return all, applyN
}

// schemaOf returns the schema of addr (it was checked during planning).
func (a *applier) schemaOf(addr addrs.Resource) *schema.Resource {
	rs, _ := resourceSchema(a.e.Schemas, addr)
	return rs
}

func (a *applier) snapshotVals() config.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := make(config.Values, len(a.vals))
	for k, x := range a.vals {
		v[k] = x
	}
	return v
}

func (a *applier) readData(ctx context.Context, cr *config.Resource) bool {
	cfgVal, d := a.e.Config.EvalResource(cr.Addr, a.snapshotVals())
	if d.HasErrors() {
		a.addDiag(d...)
		return false
	}
	prov, _ := a.e.Providers.ForType(cr.Addr.Type)
	resp := prov.ReadDataSource(ctx, providers.ReadDataSourceRequest{Addr: cr.Addr, Config: cfgVal})
	if resp.Diagnostics.HasErrors() {
		a.addDiag(withSubject(resp.Diagnostics, cr.DeclRange)...)
		return false
	}
	// The value the plan used: the locked one while it fits.
	a.mu.Lock()
	recorded := a.vals[cr.Addr]
	a.mu.Unlock()
	v, _, _ := a.e.lockedData(cr.Addr, cr.Schema, resp.State, recorded)
	resp.State = v
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vals[cr.Addr] = resp.State
	a.dataUsed[cr.Addr] = resp.State
	raw, err := encodeValue(resp.State)
	if err == nil {
		a.st.SetResource(&state.Resource{Address: cr.Addr.String(), Mode: "data", Type: cr.Addr.Type, Name: cr.Addr.Name,
			ID: idOf(resp.State, cr.Schema), Attributes: raw})
	}
	return true
}

// track runs op with PreApply/StillApplying/PostApply around it.
func (a *applier) track(addr addrs.Resource, action Action, id string, op func() (string, hcl.Diagnostics)) bool {
	h := a.e.hooks()
	h.PreApply(addr, action, id)
	start := a.opts.Now()
	done := make(chan struct{})
	tickerDone := make(chan struct{})
	go func() {
		defer close(tickerDone)
		t := time.NewTicker(a.opts.TickInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				h.StillApplying(addr, action, a.opts.Now().Sub(start))
			}
		}
	}()
	newID, diags := op()
	close(done)
	<-tickerDone // no StillApplying after PostApply
	h.PostApply(addr, action, newID, a.opts.Now().Sub(start), diags)
	if diags.HasErrors() {
		a.addDiag(diags...)
		return false
	}
	a.addDiag(diags...)
	return true
}

func (a *applier) deleteResource(ctx context.Context, ch *Change) bool {
	rs := a.schemaOf(ch.Addr)
	prov, _ := a.e.Providers.ForType(ch.Addr.Type)
	id := idOf(ch.Before, rs)
	return a.track(ch.Addr, Delete, id, func() (string, hcl.Diagnostics) {
		resp := prov.ApplyChange(ctx, providers.ApplyChangeRequest{Addr: ch.Addr, Prior: ch.Before,
			Planned: cty.NullVal(rs.ImpliedType()), Config: cty.NullVal(rs.ImpliedType()), Replacing: ch.Action == Replace,
			Progress: func(msg string) { a.e.hooks().Progress(ch.Addr, msg) }})
		a.mu.Lock()
		defer a.mu.Unlock()
		if resp.NewState == cty.NilVal || resp.NewState.IsNull() {
			a.st.RemoveResource(ch.Addr.String())
			delete(a.vals, ch.Addr)
			a.persistLocked()
		}
		return id, prefixDiags(resp.Diagnostics, ch.Addr.String())
	})
}

// record stores a resource's new value in state, keeping its host facts
// unless the object is new.
func (a *applier) recordLocked(addr addrs.Resource, v cty.Value, fresh bool, status string) {
	rs := a.schemaOf(addr)
	raw, err := encodeValue(v)
	if err != nil {
		a.diags = append(a.diags, errDiag("Failed to record state", fmt.Sprintf("%s: %s", addr, err)))
		return
	}
	r := &state.Resource{Address: addr.String(), Mode: modeString(addr.Mode), Type: addr.Type, Name: addr.Name, Key: addr.Key,
		ID: idOf(v, rs), Attributes: raw, Status: status}
	if cr := a.e.Config.Resources[addr.NoKey()]; cr != nil {
		r.Dependencies = addrStrings(cr.DependsOn)
		r.Sensitive = a.e.Config.SensitiveAttributes(addr)
	}
	if old := a.st.Resource(addr.String()); old != nil && !fresh {
		r.HostKey = old.HostKey
		r.Layers = old.Layers
	}
	a.st.SetResource(r)
	a.vals[addr] = v
	a.persistLocked()
}

func (a *applier) applyResource(ctx context.Context, ch *Change) bool {
	cr := a.e.Config.Resources[ch.Addr.NoKey()]
	rs := cr.Schema
	prov, _ := a.e.Providers.ForType(ch.Addr.Type)
	vals := a.snapshotVals()
	cfgVal, d := a.e.Config.EvalResource(ch.Addr, vals)
	if d.HasErrors() {
		a.addDiag(d...)
		return false
	}
	prior := cty.NullVal(rs.ImpliedType())
	action := ch.Action
	if ch.Action == Update {
		prior = ch.Before
	}
	fresh := ch.Action != Update
	var newVal cty.Value
	var hostScript string
	ok := a.track(ch.Addr, action, idOf(prior, rs), func() (string, hcl.Diagnostics) {
		pr := prov.PlanChange(ctx, providers.PlanChangeRequest{Addr: ch.Addr, Prior: prior, Config: cfgVal})
		if pr.Diagnostics.HasErrors() {
			return "", withSubject(prefixDiags(pr.Diagnostics, ch.Addr.String()), cr.DeclRange)
		}
		resp := prov.ApplyChange(ctx, providers.ApplyChangeRequest{
			Addr: ch.Addr, Prior: prior, Planned: pr.Planned, Config: cfgVal,
			Tags: StackTags(a.st.Lineage, ch.Addr),
			Created: func(partial cty.Value) {
				a.mu.Lock()
				defer a.mu.Unlock()
				if partial.IsWhollyKnown() {
					a.recordLocked(ch.Addr, partial, fresh, "")
				}
			},
			Progress: func(msg string) { a.e.hooks().Progress(ch.Addr, msg) },
		})
		newVal, hostScript = resp.NewState, resp.HostScript
		a.mu.Lock()
		defer a.mu.Unlock()
		if resp.NewState != cty.NilVal && !resp.NewState.IsNull() {
			status := ""
			if resp.Diagnostics.HasErrors() && fresh {
				status = "tainted"
			}
			a.recordLocked(ch.Addr, resp.NewState, fresh, status)
		}
		return idOf(resp.NewState, rs), withSubject(prefixDiags(resp.Diagnostics, ch.Addr.String()), cr.DeclRange)
	})
	if !ok {
		return false
	}
	if cr.SSH == nil || len(cr.Layers) == 0 && ch.LayerActions() == 0 && hostScript == "" {
		return true
	}
	if a.e.isStopped(ch.Addr, newVal) {
		return true
	}
	// A started instance's layers were not probed; waiting for SSH proves
	// it is back, with the same host key, before apply says it is done.
	started := a.e.isStopped(ch.Addr, ch.Before) && !fresh
	return a.convergeHost(ctx, ch, fresh && !cr.Schema.Existing, started, hostScript)
}

func (a *applier) recordLayerLocked(addr addrs.Resource, l providers.Layer) {
	sr := a.st.Resource(addr.String())
	if sr == nil {
		return
	}
	var raw json.RawMessage
	if l.Config != cty.NilVal && l.Config.IsWhollyKnown() {
		cfg := recordedLayerConfig(a.e.Schemas.Layers[l.Kind], l.Config)
		if b, err := ctyjson.Marshal(cfg, cfg.Type()); err == nil {
			raw = b
		}
	}
	rec := &state.Layer{Name: l.Addr.Name, Kind: l.Kind, Digest: l.Digest, Config: raw, AppliedAt: a.opts.Now().UTC()}
	replaced := false
	for i, old := range sr.Layers {
		if old.Name == rec.Name {
			sr.Layers[i] = rec
			replaced = true
		}
	}
	if !replaced {
		sr.Layers = append(sr.Layers, rec)
	}
	// Keep the recorded layers in configuration order.
	if cr := a.e.Config.Resources[addr.NoKey()]; cr != nil {
		pos := map[string]int{}
		for i, cl := range cr.Layers {
			pos[cl.Addr.Name] = i
		}
		sortLayers(sr.Layers, pos)
	}
	a.persistLocked()
}

func sortLayers(ls []*state.Layer, pos map[string]int) {
	rank := func(n string) int {
		if p, ok := pos[n]; ok {
			return p
		}
		return len(pos)
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && rank(ls[j].Name) < rank(ls[j-1].Name); j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func decodeLayerConfig(e *Engine, rec *state.Layer) cty.Value {
	ls := e.Schemas.Layers[rec.Kind]
	if ls == nil || len(rec.Config) == 0 {
		return cty.NilVal
	}
	v, err := ctyjson.Unmarshal(rec.Config, ls.Block.ImpliedType())
	if err != nil {
		return cty.NilVal
	}
	return v
}

func (a *applier) recordOutputs() {
	vals := a.snapshotVals()
	outs, diags := a.e.Config.EvalOutputs(vals)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.diags = append(a.diags, diags...)
	if diags.HasErrors() {
		return
	}
	a.st.Outputs = map[string]*state.Output{}
	for name, v := range outs {
		o, err := encodeOutput(v)
		if err != nil {
			continue // unknown outputs are not recorded
		}
		if co := a.e.Config.Outputs[name]; co != nil {
			o.Sensitive = co.Sensitive
		}
		a.st.Outputs[name] = o
	}
	a.persistLocked()
}

func encodeOutput(v cty.Value) (*state.Output, error) {
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("unknown")
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return nil, err
	}
	return &state.Output{Value: val, Type: ty}, nil
}

func decodeOutputValue(o *state.Output) (cty.Value, error) {
	ty, err := ctyjson.UnmarshalType(o.Type)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(o.Value, ty)
}

// DecodeOutput returns a recorded output's value.
func DecodeOutput(o *state.Output) (cty.Value, error) { return decodeOutputValue(o) }
