package command

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
	"github.com/zclconf/go-cty/cty"
)

const planUsage = `
Usage: mlops [-chdir=DIR] plan [options]

  Shows every difference between the configuration and reality: the cloud
  resources and the software layers on each host. Changes nothing.

Options:
  -var NAME=VALUE      Set a variable (repeatable).
  -var-file FILE       Read variables from an HCL file (repeatable).
  -out FILE            Save the plan, to apply exactly it with "mlops apply FILE".
  -json                Print the plan as JSON (format: docs/json-format.md).
  -destroy             Plan to destroy everything instead.
  -replace ADDR        Replace this resource even if nothing forces it; also
                       allows the replacement of a converged machine (repeatable).
  -refresh=false       Do not read the cloud; plan against the recorded state.
  -detailed-exitcode   Exit 0 when there are no changes, 2 when there are, 1 on error.
  -upgrade             Re-resolve what mlops.lock.hcl pins (images, package
                       versions, download checksums) and show what moves.
  -parallelism N       Operations in parallel (default 10).
  -state PATH          Local state file (default .mlops/state.json).
  -lock=false          Do not take the state lock (dangerous).
`

const applyUsage = `
Usage: mlops [-chdir=DIR] apply [options] [PLANFILE]

  Creates or changes the cloud resources, waits for the machine, then
  converges its software layers over SSH. With PLANFILE, applies exactly that
  saved plan, refusing it, naming what moved, when its files, variables,
  state, hosts or planned values changed since.

Options:
  -auto-approve        Do not ask for confirmation.
  -replace ADDR        Replace this resource even if nothing forces it. A plan
                       that replaces a machine with layers or a data volume is
                       refused unless it is named so (repeatable).
  -var NAME=VALUE      Set a variable (repeatable).
  -var-file FILE       Read variables from an HCL file (repeatable).
  -json                Print progress as JSON lines.
  -verbose             Stream every line of remote output, as without a
                       terminal, instead of one live line per operation.
  -upgrade             Re-resolve what mlops.lock.hcl pins and record the
                       new values.
  -parallelism N       Operations in parallel (default 10).
  -state PATH          Local state file (default .mlops/state.json).
  -lock=false          Do not take the state lock (dangerous).
`

const destroyUsage = `
Usage: mlops [-chdir=DIR] destroy [options]

  Destroys every resource the state records, after listing them. Honours
  lifecycle { prevent_destroy = true }.

Options:
  -auto-approve        Do not ask for confirmation.
  -var NAME=VALUE      Set a variable (repeatable).
  -var-file FILE       Read variables from an HCL file (repeatable).
  -json                Print progress as JSON lines.
  -verbose             Stream every line of remote output, as without a
                       terminal, instead of one live line per operation.
  -parallelism N       Operations in parallel (default 10).
  -state PATH          Local state file (default .mlops/state.json).
`

// opFlags are the flags of plan, apply and destroy.
type opFlags struct {
	vf               varFlags
	out              string
	json             bool
	destroy          bool
	refresh          bool
	detailedExitcode bool
	parallelism      int
	statePath        string
	autoApprove      bool
	verbose          bool
	lock             bool
	chdir            string
	planFile         string
	replace          stringList
	upgrade          bool
}

func parseOpFlags(d Deps, name, usage string, args []string) (*opFlags, bool) {
	o := &opFlags{refresh: true, lock: true}
	fs := newFlags(d, name, usage)
	fs.Var(&o.vf.vars, "var", "")
	fs.Var(&o.vf.varFiles, "var-file", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.IntVar(&o.parallelism, "parallelism", 10, "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.BoolVar(&o.lock, "lock", true, "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	switch name {
	case "plan":
		fs.StringVar(&o.out, "out", "", "")
		fs.BoolVar(&o.destroy, "destroy", false, "")
		fs.BoolVar(&o.refresh, "refresh", true, "")
		fs.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "")
	case "apply", "destroy":
		fs.BoolVar(&o.autoApprove, "auto-approve", false, "")
		fs.BoolVar(&o.verbose, "verbose", false, "")
	}
	if name == "plan" || name == "apply" {
		fs.Var(&o.replace, "replace", "")
	}
	if name == "plan" || name == "apply" {
		fs.BoolVar(&o.upgrade, "upgrade", false, "")
	}
	if !parseFlags(d, fs, usage, args) {
		return nil, false
	}
	rest := fs.Args()
	if name == "apply" && len(rest) == 1 {
		o.planFile = rest[0]
	} else if len(rest) > 0 {
		fmt.Fprintf(d.Streams.Err, "Error: unexpected argument %q\n\n%s\n", rest[0], trimUsage(usage))
		return nil, false
	}
	if o.parallelism < 1 {
		fmt.Fprintf(d.Streams.Err, "Error: -parallelism must be at least 1\n")
		return nil, false
	}
	return o, true
}

func runPlan(d Deps, g globals, args []string) int {
	o, ok := parseOpFlags(d, "plan", planUsage, args)
	if !ok {
		return 1
	}
	return operate(d, g, o, "plan")
}

func runApply(d Deps, g globals, args []string) int {
	o, ok := parseOpFlags(d, "apply", applyUsage, args)
	if !ok {
		return 1
	}
	return operate(d, g, o, "apply")
}

func runDestroy(d Deps, g globals, args []string) int {
	o, ok := parseOpFlags(d, "destroy", destroyUsage, args)
	if !ok {
		return 1
	}
	o.destroy = true
	return operate(d, g, o, "destroy")
}

// operate runs plan, apply or destroy.
func operate(d Deps, g globals, o *opFlags, op string) int {
	dir := configDir(d, g, o.chdir)
	var saved *plan.Plan
	if o.planFile != "" {
		path := o.planFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(d.Cwd, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			renderError(d, o.json, "Cannot read saved plan", err)
			return 1
		}
		saved, err = plan.Unmarshal(b)
		if err != nil {
			renderError(d, o.json, "Invalid saved plan", err)
			return 1
		}
		if len(o.vf.vars) > 0 || len(o.vf.varFiles) > 0 {
			renderError(d, o.json, "Variables with a saved plan", fmt.Errorf("a saved plan already holds its variable values; -var and -var-file cannot change them"))
			return 1
		}
		// The files the plan was made from are compared before anything
		// is loaded, so the refusal names the file that moved.
		if moved := checkSavedInputs(dir, saved); len(moved) > 0 {
			renderError(d, o.json, "Saved plan is stale", fmt.Errorf("%s; run mlops plan again", strings.Join(moved, "; ")))
			return 1
		}
		o.vf.vars, o.vf.varFiles = savedVariableArgs(saved, d.Env)
		o.destroy = saved.Destroy
		o.upgrade = saved.Upgrade
		o.replace = append(o.replace, savedReplace(saved)...)
	}
	replace, err := parseReplace(o.replace)
	if err != nil {
		renderError(d, o.json, "Invalid -replace address", err)
		return 1
	}

	// Everything about the input is checked before any API call or SSH connection.
	l, diags := loadConfig(d, dir, o.vf, false)
	if diags.HasErrors() {
		renderDiags(d, o.json, cfgOf(l), diags)
		return 1
	}
	if saved != nil {
		if moved := checkSavedConfig(l.cfg, saved); len(moved) > 0 {
			renderError(d, o.json, "Saved plan is stale", fmt.Errorf("%s; run mlops plan again", strings.Join(moved, "; ")))
			return 1
		}
		// The hosts must be the machines the plan looked at.
		l.engine.DemandHostKeys(saved.HostKeys)
	}
	var hooks plan.Hooks
	var jsonHooks *views.JSONHooks
	if o.json {
		jsonHooks = views.NewJSONHooks(d.Streams.Out, d.Now)
		hooks = jsonHooks
	} else if live := liveView(d, l, op, o); live != nil {
		hooks = live
		defer live.Close()
	} else {
		hooks = views.NewHumanHooks(d.Streams.Out, d.Streams)
	}
	l.engine.Hooks = hooks
	if o.json && op == "plan" {
		l.engine.Hooks = plan.NoHooks{} // one JSON document, nothing else
	}
	l.engine.Parallelism = o.parallelism
	l.engine.Upgrade = o.upgrade

	ctx := context.Background()
	store, err := stateStore(ctx, d, dir, l.cfg, o.statePath)
	if err != nil {
		renderError(d, o.json, "Cannot open the state", err)
		return 1
	}
	if err := migrateLocalState(ctx, d, dir, o.statePath, store); err != nil {
		renderError(d, o.json, "Cannot migrate the state", err)
		return 1
	}
	var st *state.State
	unlock := func() error { return nil }
	if o.lock {
		st, unlock, err = lockedRead(ctx, store, op)
	} else {
		st, err = store.Read(ctx)
		if st == nil && err == nil {
			st = state.New(state.NewLineage())
		}
	}
	if err != nil {
		renderError(d, o.json, "Cannot read the state", err)
		return 1
	}
	defer unlock()
	if saved != nil && (saved.Serial != st.Serial || (st.Serial > 0 && saved.Lineage != st.Lineage)) {
		renderError(d, o.json, "Saved plan is stale", fmt.Errorf("the state changed since this plan was made (plan: lineage %s serial %d; state: lineage %s serial %d); run mlops plan again", saved.Lineage, saved.Serial, st.Lineage, st.Serial))
		return 1
	}
	if saved != nil && st.Serial == 0 && saved.Lineage != "" {
		st.Lineage = saved.Lineage
	}

	if diags := l.engine.ConfigureProviders(ctx, st); diags.HasErrors() {
		renderDiags(d, o.json, l.cfg, diags)
		return 1
	}
	stop, hard, cancel := d.interruptContexts(func() {
		fmt.Fprintln(d.Streams.Err, "\nInterrupt received: finishing operations in flight, then saving the state. Press Ctrl-C again to exit at once.")
	}, func() {
		fmt.Fprintln(d.Streams.Err, "\nTwo interrupts received: exiting at once.")
		unlock()
		d.exit(1)
	})
	defer cancel()

	ref, diags := l.engine.Refresh(stop, st, plan.RefreshOptions{Skip: !o.refresh, Destroy: o.destroy})
	if diags.HasErrors() {
		renderDiags(d, o.json, l.cfg, diags)
		return 1
	}
	p, pdiags := l.engine.Plan(stop, ref, plan.PlanOptions{Destroy: o.destroy, Replace: replace})
	diags = append(diags, pdiags...)
	if diags.HasErrors() {
		renderDiags(d, o.json, l.cfg, diags)
		return 1
	}
	if saved != nil {
		if msg := saved.Compare(p); msg != "" {
			renderError(d, o.json, "Saved plan is stale", fmt.Errorf("reality changed since this plan was made: %s; run mlops plan again", msg))
			return 1
		}
	}
	renderDiags(d, o.json, l.cfg, diags) // warnings

	if op == "plan" {
		if !o.json && o.refresh && len(ref.State.Resources) > 0 {
			fmt.Fprintln(d.Streams.Out)
		}
		if o.json {
			_ = views.RenderPlanJSON(d.Streams.Out, p)
		} else {
			views.RenderPlan(d.Streams.Out, d.Streams, l.world.schemas, p)
			views.RenderPlanLock(d.Streams.Out, d.Streams, p)
		}
		if o.out != "" {
			path := o.out
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.Cwd, path)
			}
			p.Inputs = planInputs(dir, l.cfg, l.varFiles)
			p.HostKeys = l.engine.SeenHostKeys()
			b, err := plan.Marshal(p)
			if err == nil {
				err = writePlanFile(path, b)
			}
			if err != nil {
				renderError(d, o.json, "Cannot save the plan", err)
				return 1
			}
			if !o.json {
				fmt.Fprintf(d.Streams.Out, "\nSaved the plan to %s. To carry it out exactly: mlops apply %s\n", o.out, o.out)
			}
		}
		if o.detailedExitcode && p.HasChanges() {
			return 2
		}
		return 0
	}

	// apply and destroy
	if !o.json {
		fmt.Fprintln(d.Streams.Out)
		views.RenderPlan(d.Streams.Out, d.Streams, l.world.schemas, p)
		views.RenderPlanLock(d.Streams.Out, d.Streams, p)
	} else {
		jsonHooks.Emit(views.Event{Type: "planned_changes", Message: "Planned changes", Plan: views.PlanJSON(p)})
	}
	// A converged machine is replaced only when named, whatever approves.
	if refused := l.engine.CheckReplacements(p); refused.HasErrors() {
		renderDiags(d, o.json, l.cfg, refused)
		return 1
	}
	if !p.HasChanges() {
		if len(ref.Gone) > 0 {
			// Forget what was deleted outside mlops, so the state tells the truth.
			if err := store.Write(context.Background(), ref.State); err != nil {
				renderError(d, o.json, "Failed to save state", err)
				return 1
			}
		}
		// An alias added to an ssh block changes no resource, yet is written now.
		syncSSHAliases(d, l.engine, ref.State, jsonHooks)
		// So is what the plan resolved: with nothing to change, reality
		// already matches it.
		if !o.destroy && !writeLock(d, o.json, dir, l.lock, p.Lock) {
			return 1
		}
		if o.json {
			jsonHooks.Emit(views.Event{Type: "change_summary", Message: "Apply complete! Resources: 0 added, 0 changed, 0 destroyed."})
		} else if op == "apply" {
			printOutputs(d, ref.State)
		}
		return 0
	}
	if saved == nil && !o.autoApprove {
		if !approve(d, op) {
			return 1
		}
	}
	persist := func(s *state.State) error {
		return store.Write(context.Background(), s)
	}
	newLock := plan.ApplyLock(l.lock, p)
	applyDiags := l.engine.Apply(stop, hard, p, ref.State, plan.ApplyOptions{Persist: persist, Now: d.Now, Lock: newLock})
	c := p.Count()
	// What the apply resolved and installed is recorded even when it
	// failed part way: the lock then holds only what was done.
	lockOK := o.destroy || writeLock(d, o.json, dir, l.lock, newLock)
	if applyDiags.HasErrors() {
		renderDiags(d, o.json, l.cfg, applyDiags)
		// The aliases follow what exists now, also after a partial apply.
		syncSSHAliases(d, l.engine, ref.State, jsonHooks)
		return 1
	}
	renderDiags(d, o.json, l.cfg, applyDiags)
	if !lockOK {
		return 1
	}
	verb := "Apply"
	if op == "destroy" {
		verb = "Destroy"
	}
	summary := fmt.Sprintf("%s complete! Resources: %d added, %d changed, %d destroyed.", verb, c.Add, c.Change, c.Destroy)
	if o.destroy {
		summary = fmt.Sprintf("%s complete! Resources: %d destroyed.", verb, c.Destroy)
	}
	if o.json {
		jsonHooks.Emit(views.Event{Type: "change_summary", Message: summary})
		syncSSHAliases(d, l.engine, ref.State, jsonHooks)
		return 0
	}
	fmt.Fprintf(d.Streams.Out, "\n%s\n", d.Streams.Colorize("32;1", summary))
	syncSSHAliases(d, l.engine, ref.State, nil)
	if op == "apply" {
		printOutputs(d, ref.State)
	}
	return 0
}

func cfgOf(l *loaded) *config.Config {
	if l == nil {
		return nil
	}
	return l.cfg
}

// hclLiteral renders a value so that config reads it back as it was: strings
// raw (as -var takes them), everything else as an HCL expression.
func hclLiteral(v cty.Value) string {
	if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		return v.AsString()
	}
	return string(hclwrite.TokensForValue(v).Bytes())
}

// approve asks for "yes"; without a terminal it refuses instead of hanging.
func approve(d Deps, op string) bool {
	if !d.Streams.InTTY {
		fmt.Fprintf(d.Streams.Err, "\nError: no terminal to ask for approval. Run mlops %s -auto-approve, or apply a saved plan.\n", op)
		return false
	}
	q := "Do you want to perform these actions?"
	if op == "destroy" {
		q = "Do you really want to destroy all resources?"
	}
	fmt.Fprintf(d.Streams.Out, "\n%s\n  mlops will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", d.Streams.Colorize("1", q))
	line, _ := bufio.NewReader(d.Streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintf(d.Streams.Err, "\nError: %s cancelled.\n", op)
		return false
	}
	return true
}

var _ = flag.ErrHelp
