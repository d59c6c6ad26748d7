package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

const validateUsage = `
Usage: mlops [-chdir=DIR] validate [-json]

  Checks the configuration: syntax, blocks and attributes, types, references,
  cycles, CIDRs, ports, sizes, layer settings, and the lock file
  (mlops.lock.hcl). Offline: no API call, no SSH. Variables without a value
  are allowed.
`

func runValidate(d Deps, g globals, args []string) int {
	fs := newFlags(d, "validate", validateUsage)
	jsonOut := fs.Bool("json", false, "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, validateUsage, args) {
		return 1
	}
	l, diags := loadConfig(d, configDir(d, g, *chdir), varFlags{}, true)
	if !diags.HasErrors() && l != nil && l.engine != nil {
		// The providers' offline checks: what plan would reject without an API call.
		diags = append(diags, l.engine.Validate()...)
	}
	if *jsonOut {
		_ = views.RenderDiagnosticsJSON(d.Streams.Out, diags)
	} else {
		renderDiags(d, false, cfgOf(l), diags)
		if !diags.HasErrors() {
			fmt.Fprintln(d.Streams.Out, d.Streams.Colorize("32;1", "Success!")+" The configuration is valid.")
		}
	}
	if diags.HasErrors() {
		return 1
	}
	return 0
}

const fmtUsage = `
Usage: mlops [-chdir=DIR] fmt [-check] [-diff] [FILE...]

  Rewrites the configuration files (*.hcl) in canonical style.

Options:
  -check   Change nothing; exit 3 when a file would change (for CI).
  -diff    Show the changes.
`

func runFmt(d Deps, g globals, args []string) int {
	fs := newFlags(d, "fmt", fmtUsage)
	check := fs.Bool("check", false, "")
	diff := fs.Bool("diff", false, "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, fmtUsage, args) {
		return 1
	}
	dir := configDir(d, g, *chdir)
	files := fs.Args()
	if len(files) == 0 {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
		for _, m := range matches {
			// The lock file is mlops' own, already canonical.
			if filepath.Base(m) != lockfile.FileName {
				files = append(files, m)
			}
		}
	} else {
		for i, f := range files {
			if !filepath.IsAbs(f) {
				files[i] = filepath.Join(dir, f)
			}
		}
	}
	sort.Strings(files)
	changed := 0
	failed := false
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			renderError(d, false, "Cannot read file", err)
			failed = true
			continue
		}
		rel, _ := filepath.Rel(dir, f)
		out, diags := config.Format(rel, src)
		if diags.HasErrors() {
			renderDiags(d, false, nil, diags)
			failed = true
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		changed++
		fmt.Fprintln(d.Streams.Out, rel)
		if *diff {
			fmt.Fprint(d.Streams.Out, lineDiff(rel, string(src), string(out)))
		}
		if !*check {
			st, _ := os.Stat(f)
			mode := os.FileMode(0o644)
			if st != nil {
				mode = st.Mode().Perm()
			}
			if err := writeFileAtomic(f, out, mode); err != nil {
				renderError(d, false, "Cannot write file", err)
				failed = true
			}
		}
	}
	switch {
	case failed:
		return 1
	case *check && changed > 0:
		return 3
	}
	return 0
}

// lineDiff is the unified diff (3 lines of context, "--- a/NAME" and
// "+++ b/NAME" headers, as diff -u and git print them) that turns a into b.
// go-udiff is the Go tools' own diff, so patch(1) applies it.
func lineDiff(name, a, b string) string {
	out, err := udiff.ToUnified("a/"+name, "b/"+name, a, udiff.Lines(a, b), udiff.DefaultContextLines)
	if err != nil {
		// The edits come from the same two strings; they cannot disagree.
		return fmt.Sprintf("(no diff: %v)\n", err)
	}
	return out
}

const outputUsage = `
Usage: mlops [-chdir=DIR] output [-json] [-raw] [NAME]

  Shows the output values recorded by the last apply.
`

// readState reads the state without locking (read-only commands).
func readState(d Deps, dir, statePath string) (*state.State, *config.Config, error) {
	l, _ := loadConfig(d, dir, varFlags{}, true)
	store, err := stateStore(d.ctx(), d, dir, cfgOf(l), statePath)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Read(d.ctx())
	if err != nil {
		return nil, nil, err
	}
	if st == nil {
		st = state.New("")
	}
	return st, cfgOf(l), nil
}

func runOutput(d Deps, g globals, args []string) int {
	fs := newFlags(d, "output", outputUsage)
	jsonOut := fs.Bool("json", false, "")
	raw := fs.Bool("raw", false, "")
	statePath := fs.String("state", "", "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, outputUsage, args) {
		return 1
	}
	st, _, err := readState(d, configDir(d, g, *chdir), *statePath)
	if err != nil {
		renderError(d, *jsonOut, "Cannot read the state", err)
		return 1
	}
	names := fs.Args()
	if len(names) > 1 {
		fmt.Fprintf(d.Streams.Err, "Error: output takes at most one NAME\n")
		return 1
	}
	if len(names) == 1 {
		o, ok := st.Outputs[names[0]]
		if !ok {
			renderError(d, *jsonOut, "Output not found", fmt.Errorf("no output named %q in the state; apply first, or check the name", names[0]))
			return 1
		}
		v, err := plan.DecodeOutput(o)
		if err != nil {
			renderError(d, *jsonOut, "Invalid output in state", err)
			return 1
		}
		switch {
		case *jsonOut:
			fmt.Fprintln(d.Streams.Out, string(o.Value))
		case *raw && v.Type() == cty.String:
			fmt.Fprint(d.Streams.Out, v.AsString())
		case o.Sensitive && !*raw:
			// As Terraform: only -raw and -json print a sensitive value.
			fmt.Fprintln(d.Streams.Out, plan.SensitiveValue)
		default:
			fmt.Fprintln(d.Streams.Out, views.ValueString(v))
		}
		return 0
	}
	if *jsonOut {
		out := map[string]any{}
		for n, o := range st.Outputs {
			out[n] = map[string]any{"value": o.Value, "type": o.Type, "sensitive": o.Sensitive}
		}
		enc := json.NewEncoder(d.Streams.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	if len(st.Outputs) == 0 {
		fmt.Fprintln(d.Streams.Err, "No outputs found: the state records none yet. Run mlops apply first.")
		return 0
	}
	views.RenderOutputs(d.Streams.Out, st.Outputs)
	return 0
}

const showUsage = `
Usage: mlops [-chdir=DIR] show [-json] [PLANFILE]

  Shows the recorded state, or a saved plan.
`

func runShow(d Deps, g globals, args []string) int {
	fs := newFlags(d, "show", showUsage)
	jsonOut := fs.Bool("json", false, "")
	statePath := fs.String("state", "", "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, showUsage, args) {
		return 1
	}
	dir := configDir(d, g, *chdir)
	w := newWorld(d, dir)
	if fs.NArg() == 1 {
		path := fs.Arg(0)
		if !filepath.IsAbs(path) {
			path = filepath.Join(d.Cwd, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			renderError(d, *jsonOut, "Cannot read saved plan", err)
			return 1
		}
		p, err := plan.Unmarshal(b)
		if err == nil {
			err = plan.CheckSchemas(p, w.schemas)
		}
		if err != nil {
			renderError(d, *jsonOut, "Invalid saved plan", err)
			return 1
		}
		if *jsonOut {
			_ = views.RenderPlanJSON(d.Streams.Out, p)
		} else {
			views.RenderPlan(d.Streams.Out, d.Streams, w.schemas, p)
			views.RenderPlanLock(d.Streams.Out, d.Streams, p)
		}
		return 0
	}
	st, _, err := readState(d, dir, *statePath)
	if err != nil {
		renderError(d, *jsonOut, "Cannot read the state", err)
		return 1
	}
	if *jsonOut {
		// Sensitive outputs are masked here; mlops output -json or -raw
		// prints them on purpose.
		st = st.DeepCopy()
		for _, o := range st.Outputs {
			if o.Sensitive {
				o.Value = json.RawMessage(`"` + plan.SensitiveValue + `"`)
			}
		}
		for _, r := range st.Resources {
			maskResourceJSON(w, r)
		}
		b, err := st.Encode()
		if err != nil {
			renderError(d, true, "Cannot encode the state", err)
			return 1
		}
		d.Streams.Out.Write(b)
		fmt.Fprintln(d.Streams.Out)
		return 0
	}
	if len(st.Resources) == 0 {
		fmt.Fprintln(d.Streams.Out, "The state is empty: nothing has been applied yet.")
		return 0
	}
	for i, r := range st.Resources {
		if i > 0 {
			fmt.Fprintln(d.Streams.Out)
		}
		showResource(d, w, r)
	}
	views.RenderOutputs(d.Streams.Out, st.Outputs)
	return 0
}

func showResource(d Deps, w *world, r *state.Resource) {
	addr := r.Addr()
	m := w.schemas.Resources
	kw := "resource"
	if addr.Mode == addrs.Data {
		m = w.schemas.DataSources
		kw = "data"
	}
	fmt.Fprintf(d.Streams.Out, "# %s:\n%s %q %q {\n", r.Address, kw, r.Type, r.Name)
	if rs := m[r.Type]; rs != nil {
		if v, err := ctyjson.Unmarshal(r.Attributes, rs.ImpliedType()); err == nil {
			v = plan.MarkSensitive(v, r.Sensitive)
			for _, n := range rs.AttributeNames() {
				av := v.GetAttr(n)
				if av.IsNull() {
					continue
				}
				if rs.Attributes[n].Sensitive {
					fmt.Fprintf(d.Streams.Out, "    %s = (sensitive value)\n", n)
					continue
				}
				fmt.Fprintf(d.Streams.Out, "    %s = %s\n", n, views.ValueStringIndent(av, "    "))
			}
			for _, bn := range rs.BlockTypeNames() {
				bv := v.GetAttr(bn)
				if bv.IsMarked() {
					fmt.Fprintf(d.Streams.Out, "    %s = %s\n", bn, plan.SensitiveValue)
					continue
				}
				if bv.IsNull() || bv.LengthInt() == 0 {
					continue
				}
				fmt.Fprintf(d.Streams.Out, "    %s = %s\n", bn, views.ValueStringIndent(bv, "    "))
			}
		}
	}
	if r.Status != "" {
		fmt.Fprintf(d.Streams.Out, "    # status: %s\n", r.Status)
	}
	if r.HostKey != "" {
		fmt.Fprintf(d.Streams.Out, "    # host key: %s\n", r.HostKey)
	}
	for _, l := range r.Layers {
		fmt.Fprintf(d.Streams.Out, "    layer %q %q { # applied %s, %s }\n", l.Kind, l.Name, l.AppliedAt.Format("2006-01-02 15:04:05 MST"), l.Digest)
	}
	fmt.Fprintln(d.Streams.Out, "}")
}

const stateUsage = `
Usage: mlops [-chdir=DIR] state <subcommand> [options]

Subcommands:
  list              List the recorded resources.
  show ADDRESS      Show one recorded resource.
  rm ADDRESS...     Forget resources (they are not destroyed).
  pull              Print the state as JSON.
  push FILE         Replace the state with FILE (lineage and serial are checked).
  forget-host-key ADDRESS
                    Forget a host's pinned SSH host key (after the machine was
                    rebuilt); the next connection pins the key it finds.

Options:
  -state PATH       Local state file (default .mlops/state.json).
`

func runState(d Deps, g globals, args []string) (code int) {
	if len(args) == 0 {
		fmt.Fprintln(d.Streams.Err, trimUsage(stateUsage))
		return 1
	}
	sub := args[0]
	fs := newFlags(d, "state "+sub, stateUsage)
	statePath := fs.String("state", "", "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, stateUsage, args[1:]) {
		return 1
	}
	dir := configDir(d, g, *chdir)
	ctx := d.ctx()
	switch sub {
	case "list", "show", "pull":
		st, _, err := readState(d, dir, *statePath)
		if err != nil {
			renderError(d, false, "Cannot read the state", err)
			return 1
		}
		switch sub {
		case "list":
			for _, r := range st.Resources {
				if fs.NArg() > 0 && !strings.HasPrefix(r.Address, fs.Arg(0)) {
					continue
				}
				fmt.Fprintln(d.Streams.Out, r.Address)
			}
		case "show":
			if fs.NArg() != 1 {
				fmt.Fprintln(d.Streams.Err, "Error: state show takes one ADDRESS")
				return 1
			}
			r := st.Resource(canonicalAddr(fs.Arg(0)))
			if r == nil {
				renderError(d, false, "No such resource in the state", fmt.Errorf("%s is not recorded; mlops state list shows what is", fs.Arg(0)))
				return 1
			}
			showResource(d, newWorld(d, dir), r)
		case "pull":
			b, err := st.Encode()
			if err != nil {
				renderError(d, false, "Cannot encode the state", err)
				return 1
			}
			d.Streams.Out.Write(b)
			fmt.Fprintln(d.Streams.Out)
		}
		return 0
	case "rm", "push", "forget-host-key":
		l, _ := loadConfig(d, dir, varFlags{}, true)
		store, err := stateStore(ctx, d, dir, cfgOf(l), *statePath)
		if err != nil {
			renderError(d, false, "Cannot open the state", err)
			return 1
		}
		if err := migrateLocalState(ctx, d, dir, *statePath, store); err != nil {
			renderError(d, false, "Cannot migrate the state", err)
			return 1
		}
		st, unlock, err := lockedRead(ctx, store, "state "+sub)
		if err != nil {
			renderError(d, false, "Cannot read the state", err)
			return 1
		}
		defer releaseLock(d, false, d.guardUnlock(unlock), &code)
		if sub == "forget-host-key" {
			if fs.NArg() != 1 {
				fmt.Fprintln(d.Streams.Err, "Error: state forget-host-key takes one ADDRESS")
				return 1
			}
			r := st.Resource(canonicalAddr(fs.Arg(0)))
			if r == nil || r.HostKey == "" {
				renderError(d, false, "No pinned host key", fmt.Errorf("%s has no host key recorded in the state", fs.Arg(0)))
				return 1
			}
			r.HostKey = ""
			if err := store.Write(ctx, st); err != nil {
				renderError(d, false, "Cannot write the state", err)
				return 1
			}
			fmt.Fprintf(d.Streams.Out, "Forgot the host key of %s; the next connection pins the key it finds.\n", fs.Arg(0))
			return 0
		}
		if sub == "rm" {
			if fs.NArg() == 0 {
				fmt.Fprintln(d.Streams.Err, "Error: state rm takes at least one ADDRESS")
				return 1
			}
			var removed []string
			for _, a := range fs.Args() {
				all := stateAddrs(st, a)
				if len(all) == 0 {
					renderError(d, false, "No such resource in the state", fmt.Errorf("%s is not recorded", a))
					return 1
				}
				for _, a := range all {
					st.RemoveResource(a)
				}
				removed = append(removed, all...)
			}
			if err := store.Write(ctx, st); err != nil {
				renderError(d, false, "Cannot write the state", err)
				return 1
			}
			for _, a := range removed {
				fmt.Fprintf(d.Streams.Out, "Removed %s from the state (the object itself was not touched).\n", a)
			}
			return 0
		}
		if fs.NArg() != 1 {
			fmt.Fprintln(d.Streams.Err, "Error: state push takes one FILE")
			return 1
		}
		b, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			renderError(d, false, "Cannot read file", err)
			return 1
		}
		ns, err := state.Decode(b)
		if err != nil {
			renderError(d, false, "Invalid state file", err)
			return 1
		}
		if st.Serial > 0 && ns.Lineage != st.Lineage {
			renderError(d, false, "Different lineage", fmt.Errorf("the file's lineage %s differs from the stored state's %s: it belongs to another stack", ns.Lineage, st.Lineage))
			return 1
		}
		if st.Serial > 0 && ns.Serial < st.Serial {
			renderError(d, false, "Older state", fmt.Errorf("the file has serial %d, the state in %s serial %d: it is older and would undo the writes since; run mlops state pull to start from the current state", ns.Serial, store.Describe(), st.Serial))
			return 1
		}
		if err := store.Write(ctx, ns); err != nil {
			renderError(d, false, "Cannot write the state", err)
			return 1
		}
		fmt.Fprintf(d.Streams.Out, "Pushed the state to %s.\n", store.Describe())
		return 0
	}
	fmt.Fprintf(d.Streams.Err, "Error: unknown state subcommand %q\n\n%s\n", sub, trimUsage(stateUsage))
	return 1
}

const importUsage = `
Usage: mlops [-chdir=DIR] import [options] ADDRESS ID

  Adopts an object created elsewhere (an instance i-..., a security group
  sg-..., a key pair name) into the state at ADDRESS, which must be declared
  in the configuration.
`

func runImport(d Deps, g globals, args []string) (code int) {
	fs := newFlags(d, "import", importUsage)
	var vf varFlags
	fs.Var(&vf.vars, "var", "")
	fs.Var(&vf.varFiles, "var-file", "")
	statePath := fs.String("state", "", "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, importUsage, args) {
		return 1
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(d.Streams.Err, trimUsage(importUsage))
		return 1
	}
	addr, err := addrs.ParseResource(fs.Arg(0))
	if err != nil || addr.Mode != addrs.Managed {
		renderError(d, false, "Invalid address", fmt.Errorf("%q is not a resource address (TYPE.NAME)", fs.Arg(0)))
		return 1
	}
	dir := configDir(d, g, *chdir)
	l, diags := loadConfig(d, dir, vf, false)
	if diags.HasErrors() {
		renderDiags(d, false, cfgOf(l), diags)
		return 1
	}
	if l.cfg.Resources[addr.NoKey()] == nil {
		renderError(d, false, "Resource not in the configuration", fmt.Errorf("%s must be declared in the configuration before it can be imported", addr))
		return 1
	}
	if err := checkImportKey(l.cfg, addr); err != nil {
		renderError(d, false, "Invalid instance key", err)
		return 1
	}
	ctx := d.ctx()
	store, err := stateStore(ctx, d, dir, l.cfg, *statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return 1
	}
	if err := migrateLocalState(ctx, d, dir, *statePath, store); err != nil {
		renderError(d, false, "Cannot migrate the state", err)
		return 1
	}
	st, unlock, err := lockedRead(ctx, store, "import")
	if err != nil {
		renderError(d, false, "Cannot read the state", err)
		return 1
	}
	defer releaseLock(d, false, d.guardUnlock(unlock), &code)
	if st.Resource(addr.String()) != nil {
		renderError(d, false, "Resource already managed", fmt.Errorf("%s is already in the state; mlops state rm it first", addr))
		return 1
	}
	if diags := l.engine.ConfigureProviders(ctx, st); diags.HasErrors() {
		renderDiags(d, false, l.cfg, diags)
		return 1
	}
	prov, _ := l.world.registry.ForType(addr.Type)
	resp := prov.Import(ctx, providers.ImportRequest{Addr: addr, ID: fs.Arg(1)})
	if resp.Diagnostics.HasErrors() {
		renderDiags(d, false, l.cfg, resp.Diagnostics)
		return 1
	}
	raw, err := ctyjson.Marshal(resp.State, resp.State.Type())
	if err != nil {
		renderError(d, false, "Cannot record the object", err)
		return 1
	}
	r := state.ResourceFor(addr)
	r.ID = fs.Arg(1)
	r.Attributes = raw
	st.SetResource(r)
	if err := store.Write(ctx, st); err != nil {
		renderError(d, false, "Cannot write the state", err)
		return 1
	}
	fmt.Fprintf(d.Streams.Out, "%s: imported %s. Run mlops plan to see how it differs from the configuration.\n", addr, fs.Arg(1))
	return 0
}

const forceUnlockUsage = `
Usage: mlops [-chdir=DIR] force-unlock LOCK_ID

  Removes a state lock left by a run that is gone. Local locks are released
  by the operating system when their process dies; this is for remote state.
`

func runForceUnlock(d Deps, g globals, args []string) int {
	fs := newFlags(d, "force-unlock", forceUnlockUsage)
	statePath := fs.String("state", "", "")
	chdir := fs.String("chdir", "", "")
	if !parseFlags(d, fs, forceUnlockUsage, args) {
		return 1
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(d.Streams.Err, trimUsage(forceUnlockUsage))
		return 1
	}
	dir := configDir(d, g, *chdir)
	l, _ := loadConfig(d, dir, varFlags{}, true)
	store, err := stateStore(d.ctx(), d, dir, cfgOf(l), *statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return 1
	}
	if err := store.ForceUnlock(d.ctx(), fs.Arg(0)); err != nil {
		if errors.Is(err, state.ErrNotLocked) {
			fmt.Fprintln(d.Streams.Out, "The state is not locked.")
			return 0
		}
		renderError(d, false, "Cannot unlock", err)
		return 1
	}
	fmt.Fprintf(d.Streams.Out, "Released lock %s on %s.\n", fs.Arg(0), store.Describe())
	return 0
}

var _ = hcl.DiagError
