package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

// operation is one run of plan, apply or destroy. Each step is a method
// that reports its own failure through the view and returns false; the
// fields carry what one step hands to the next.
type operation struct {
	d   Deps
	o   *opFlags
	op  string
	dir string
	// view is chosen once, from -json; events is its JSON event stream
	// (nil for the human view), which the apply hooks share.
	view   views.Operation
	events *views.JSONHooks

	saved   *plan.Plan
	replace []addrs.Resource
	deletes []addrs.Resource
	l       *loaded
	budget  hcl.Diagnostics
	store   state.Store
	st      *state.State
	unlock  func() error
	ref     *plan.Refreshed
	p       *plan.Plan
}

// operate runs plan, apply or destroy: load the input, open and lock the
// state, refresh and plan, then either show the plan or carry it out.
func operate(d Deps, g globals, o *opFlags, op string) (code int) {
	x := &operation{d: d, o: o, op: op, dir: configDir(d, g, o.chdir), unlock: func() error { return nil }}
	x.view = views.NewOperation(d.Streams, o.json, d.Now)
	if j, ok := x.view.(*views.JSONOperation); ok {
		x.events = j.Events
	}
	if !x.readSavedPlan() || !x.load() {
		return 1
	}
	if closeHooks := x.setHooks(); closeHooks != nil {
		defer closeHooks()
	}
	if !x.openState() {
		return 1
	}
	defer releaseLock(d, o.json, d.guardUnlock(x.unlock), &code)
	if !x.makePlan() {
		return 1
	}
	if op == "plan" {
		return x.showPlan()
	}
	return x.carryOut()
}

// fail reports err as an error diagnostic headed summary and returns false.
func (x *operation) fail(summary string, err error) bool {
	x.diagnostics(nil, errorDiagnostics(summary, err))
	return false
}

// diagnostics shows diags with file names relative to the working directory.
func (x *operation) diagnostics(cfg *config.Config, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	diags, files = relativeNames(x.d.Cwd, diags, files)
	x.view.Diagnostics(files, diags)
}

// stale refuses a saved plan that no longer matches what it was made from.
func (x *operation) stale(format string, args ...any) bool {
	return x.fail("Saved plan is stale", fmt.Errorf(format, args...))
}

// readSavedPlan reads apply's PLANFILE, checks that the files it was made
// from did not move, and takes its variables, -destroy, -upgrade,
// -replace and -delete as the flags of this run.
func (x *operation) readSavedPlan() bool {
	o := x.o
	if o.planFile != "" {
		path := o.planFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(x.d.Cwd, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return x.fail("Cannot read saved plan", err)
		}
		if x.saved, err = plan.Unmarshal(b); err != nil {
			return x.fail("Invalid saved plan", err)
		}
		if len(o.vf.vars) > 0 || len(o.vf.varFiles) > 0 {
			return x.fail("Variables with a saved plan", fmt.Errorf("a saved plan already holds its variable values; -var and -var-file cannot change them"))
		}
		// The files the plan was made from are compared before anything
		// is loaded, so the refusal names the file that moved.
		if moved := checkSavedInputs(x.dir, x.saved); len(moved) > 0 {
			return x.stale("%s; run mlops plan again", strings.Join(moved, "; "))
		}
		o.vf.vars, o.vf.varFiles = savedVariableArgs(x.saved, x.d.Env)
		o.destroy = x.saved.Destroy
		o.upgrade = x.saved.Upgrade
		o.replace = append(o.replace, addrArgs(x.saved.Replace)...)
		o.deletes = append(o.deletes, addrArgs(x.saved.Deletes)...)
	}
	var err error
	if x.replace, err = parseAddrList(o.replace); err != nil {
		return x.fail("Invalid -replace address", err)
	}
	if x.deletes, err = parseAddrList(o.deletes); err != nil {
		return x.fail("Invalid -delete address", err)
	}
	return true
}

// load reads the configuration and checks everything about the input
// (a saved plan's schemas and configuration, the budget) before any API
// call or SSH connection.
func (x *operation) load() bool {
	var diags hcl.Diagnostics
	x.l, diags = loadConfig(x.d, x.dir, x.o.vf, false)
	if diags.HasErrors() {
		x.diagnostics(cfgOf(x.l), diags)
		return false
	}
	if x.saved != nil {
		if err := plan.CheckSchemas(x.saved, x.l.world.schemas); err != nil {
			return x.fail("Invalid saved plan", err)
		}
		if moved := checkSavedConfig(x.l.cfg, x.saved); len(moved) > 0 {
			return x.stale("%s; run mlops plan again", strings.Join(moved, "; "))
		}
		// The hosts must be the machines the plan looked at.
		x.l.engine.DemandHostKeys(x.saved.HostKeys)
	}
	if !x.o.destroy {
		if x.budget = checkBudget(x.l.cfg); x.budget.HasErrors() {
			x.diagnostics(x.l.cfg, x.budget)
			return false
		}
	}
	return true
}

// setHooks picks the progress hooks: JSON events, the terminal's live
// lines, or streamed text. It returns the live view's Close, or nil.
func (x *operation) setHooks() func() {
	var hooks plan.Hooks
	var closeHooks func()
	if x.events != nil {
		hooks = x.events
	} else if live := liveView(x.d, x.l, x.op, x.o); live != nil {
		hooks = live
		closeHooks = func() { live.Close() }
	} else {
		hooks = views.NewHumanHooks(x.d.Streams.Out, x.d.Streams)
	}
	x.l.engine.Hooks = hooks
	if x.events != nil && x.op == "plan" {
		x.l.engine.Hooks = plan.NoHooks{} // one JSON document, nothing else
	}
	x.l.engine.Parallelism = x.o.parallelism
	x.l.engine.Upgrade = x.o.upgrade
	return closeHooks
}

// openState opens the store (migrating a local state into a new backend),
// takes the lock unless -lock=false, reads the state and checks it against
// a saved plan.
func (x *operation) openState() bool {
	ctx := x.d.ctx()
	var err error
	if x.store, err = stateStore(ctx, x.d, x.dir, x.l.cfg, x.o.statePath); err != nil {
		return x.fail("Cannot open the state", err)
	}
	if err := migrateLocalState(ctx, x.d, x.dir, x.o.statePath, x.store); err != nil {
		return x.fail("Cannot migrate the state", err)
	}
	if x.o.lock {
		var unlock func() error
		x.st, unlock, err = lockedRead(ctx, x.store, x.op)
		if unlock != nil {
			x.unlock = unlock
		}
	} else {
		x.st, err = x.store.Read(ctx)
		if x.st == nil && err == nil {
			x.st = state.New(state.NewLineage())
		}
	}
	if err != nil {
		return x.fail("Cannot read the state", err)
	}
	return true
}

// checkSavedState refuses a saved plan made against another state, and
// gives a first state the lineage the plan was made with.
func (x *operation) checkSavedState() bool {
	saved, st := x.saved, x.st
	if saved == nil {
		return true
	}
	if saved.Serial != st.Serial || (st.Serial > 0 && saved.Lineage != st.Lineage) {
		return x.stale("the state changed since this plan was made (plan: lineage %s serial %d; state: lineage %s serial %d); run mlops plan again", saved.Lineage, saved.Serial, st.Lineage, st.Serial)
	}
	if st.Serial == 0 && saved.Lineage != "" {
		st.Lineage = saved.Lineage
	}
	return true
}

// makePlan configures the providers, refreshes, plans, adds the costs, the
// budget and the exposure warnings, and compares a saved plan with the
// plan made again. Warnings are shown here; errors end the run.
func (x *operation) makePlan() bool {
	if !x.checkSavedState() {
		return false
	}
	e, cfg, stop := x.l.engine, x.l.cfg, x.d.ctx()
	if diags := e.ConfigureProviders(stop, x.st); diags.HasErrors() {
		x.diagnostics(cfg, diags)
		return false
	}
	ref, diags := e.Refresh(stop, x.st, plan.RefreshOptions{Skip: !x.o.refresh, Destroy: x.o.destroy})
	if diags.HasErrors() {
		x.diagnostics(cfg, diags)
		return false
	}
	p, pdiags := e.Plan(stop, ref, plan.PlanOptions{Destroy: x.o.destroy, Replace: x.replace, Deletes: x.deletes})
	diags = append(diags, pdiags...)
	if p != nil {
		p.Costs = estimatePlan(cfg, p)
		diags = append(diags, x.budget...)
		if !x.o.destroy && !pdiags.HasErrors() {
			diags = append(diags, checkPlanBudget(cfg, p.Costs)...)
			diags = append(diags, exposureWarnings(cfg, p)...)
		}
	}
	if diags.HasErrors() {
		x.diagnostics(cfg, diags)
		return false
	}
	if x.saved != nil {
		if msg := x.saved.Compare(p); msg != "" {
			return x.stale("reality changed since this plan was made: %s; run mlops plan again", msg)
		}
	}
	x.diagnostics(cfg, diags) // warnings
	x.ref, x.p = ref, p
	return true
}

// showPlan is mlops plan's end: the plan, saved with -out, and the exit
// code (2 for changes with -detailed-exitcode).
func (x *operation) showPlan() int {
	o, p := x.o, x.p
	x.view.Plan(x.l.world.schemas, p, o.refresh && len(x.ref.State.Resources) > 0)
	if o.out != "" {
		if !x.savePlan() {
			return 1
		}
		x.view.PlanSaved(o.out)
	}
	if o.detailedExitcode && p.HasChanges() {
		return 2
	}
	return 0
}

// savePlan writes the plan to -out with what apply checks it against: the
// input files and the host keys seen.
func (x *operation) savePlan() bool {
	path := x.o.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(x.d.Cwd, path)
	}
	x.p.Inputs = planInputs(x.dir, x.l.cfg, x.l.varFiles)
	x.p.HostKeys = x.l.engine.SeenHostKeys()
	b, err := plan.Marshal(x.p)
	if err == nil {
		err = writePlanFile(path, b)
	}
	if err != nil {
		return x.fail("Cannot save the plan", err)
	}
	return true
}

// carryOut is the end of apply and destroy: show the plan, refuse an
// unnamed replacement of a converged machine, ask, apply, report.
func (x *operation) carryOut() int {
	x.view.PlannedChanges(x.l.world.schemas, x.p)
	// A converged machine is replaced only when named, whatever approves.
	if refused := x.l.engine.CheckReplacements(x.p); refused.HasErrors() {
		x.diagnostics(x.l.cfg, refused)
		return 1
	}
	if !x.p.HasChanges() {
		return x.nothingToDo()
	}
	if x.saved == nil && !x.o.autoApprove {
		if !approve(x.d, x.op) {
			return 1
		}
	}
	if !x.apply() {
		return 1
	}
	x.view.Summary(x.summary())
	syncSSHAliases(x.d, x.l.engine, x.ref.State, x.events)
	if x.op == "apply" {
		x.view.Outputs(x.ref.State.Outputs)
	}
	return 0
}

// nothingToDo ends an apply or destroy without changes: what was deleted
// outside mlops is forgotten, ssh aliases and the lock file are written.
func (x *operation) nothingToDo() int {
	if len(x.ref.Gone) > 0 {
		// Forget what was deleted outside mlops, so the state tells the truth.
		if err := x.store.Write(context.WithoutCancel(x.d.ctx()), x.ref.State); err != nil {
			x.fail("Failed to save state", err)
			return 1
		}
	}
	// An alias added to an ssh block changes no resource, yet is written now.
	syncSSHAliases(x.d, x.l.engine, x.ref.State, x.events)
	// So is what the plan resolved: with nothing to change, reality
	// already matches it.
	if !x.o.destroy && !writeLock(x.d, x.o.json, x.dir, x.l.lock, x.p.Lock) {
		return 1
	}
	x.view.NothingToDo()
	if x.op == "apply" {
		x.view.Outputs(x.ref.State.Outputs)
	}
	return 0
}

// apply carries out the plan, saving the state after every step and the
// lock file at the end, also after a failure part way.
func (x *operation) apply() bool {
	ctx := x.d.ctx()
	// The state is saved also after an interrupt: what was done must be
	// recorded, so the writes do not end with the run's context.
	persist := func(s *state.State) error {
		return x.store.Write(context.WithoutCancel(ctx), s)
	}
	if x.d.intr != nil {
		// From here on the first Ctrl-C lets operations in flight finish.
		x.d.intr.twoStageMode("\nInterrupt received: finishing operations in flight, then saving the state. Press Ctrl-C again to exit at once.")
	}
	newLock := plan.ApplyLock(x.l.lock, x.p)
	applyDiags := x.l.engine.Apply(ctx, x.d.hardCtx(), x.p, x.ref.State, plan.ApplyOptions{Persist: persist, Now: x.d.Now, Lock: newLock})
	// What the apply resolved and installed is recorded even when it
	// failed part way: the lock then holds only what was done.
	lockOK := x.o.destroy || writeLock(x.d, x.o.json, x.dir, x.l.lock, newLock)
	x.diagnostics(x.l.cfg, applyDiags)
	if applyDiags.HasErrors() {
		// The aliases follow what exists now, also after a partial apply.
		syncSSHAliases(x.d, x.l.engine, x.ref.State, x.events)
		return false
	}
	return lockOK
}

// summary is the closing line: what was added, changed and destroyed.
func (x *operation) summary() string {
	c := x.p.Count()
	if x.op == "destroy" {
		return fmt.Sprintf("Destroy complete! Resources: %d destroyed.", c.Destroy)
	}
	if x.o.destroy {
		return fmt.Sprintf("Apply complete! Resources: %d destroyed.", c.Destroy)
	}
	return fmt.Sprintf("Apply complete! Resources: %d added, %d changed, %d destroyed.", c.Add, c.Change, c.Destroy)
}
