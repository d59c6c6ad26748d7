package command

import (
	"fmt"
	"os"
	"strings"

	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

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

// stateOptions are the subcommand, flags and arguments of mlops state.
type stateOptions struct {
	sub       string
	statePath string
	chdir     string
	args      []string
}

func parseStateOptions(d Deps, args []string) (*stateOptions, bool) {
	if len(args) == 0 {
		views.RenderUsageError(d.Streams.Err, "", stateUsage)
		return nil, false
	}
	o := &stateOptions{sub: args[0]}
	fs := newFlags(d, "state "+o.sub, stateUsage)
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, stateUsage, args[1:]) {
		return nil, false
	}
	o.args = fs.Args()
	return o, true
}

func runState(d Deps, g globals, args []string) int {
	o, ok := parseStateOptions(d, args)
	if !ok {
		return 1
	}
	dir := configDir(d, g, o.chdir)
	switch o.sub {
	case "list", "show", "pull":
		return stateRead(d, o, dir)
	case "rm", "push", "forget-host-key":
		return stateWrite(d, o, dir)
	}
	views.RenderUsageError(d.Streams.Err, fmt.Sprintf("unknown state subcommand %q", o.sub), stateUsage)
	return 1
}

// stateRead runs the subcommands that only read: list, show and pull.
func stateRead(d Deps, o *stateOptions, dir string) int {
	st, _, err := readState(d, dir, o.statePath)
	if err != nil {
		renderError(d, false, "Cannot read the state", err)
		return 1
	}
	switch o.sub {
	case "list":
		var list []string
		for _, r := range st.Resources {
			if len(o.args) == 0 || strings.HasPrefix(r.Address, o.args[0]) {
				list = append(list, r.Address)
			}
		}
		views.RenderStateList(d.Streams.Out, list)
	case "show":
		if len(o.args) != 1 {
			views.RenderArgError(d.Streams.Err, "state show takes one ADDRESS")
			return 1
		}
		r := lookupResource(st, o.args[0])
		if r == nil {
			renderError(d, false, "No such resource in the state", fmt.Errorf("%s is not recorded; mlops state list shows what is", o.args[0]))
			return 1
		}
		showResource(d, newWorld(d, dir), r)
	case "pull":
		b, err := st.Encode()
		if err != nil {
			renderError(d, false, "Cannot encode the state", err)
			return 1
		}
		views.RenderStateJSON(d.Streams.Out, b)
	}
	return 0
}

// stateWrite runs the subcommands that change the state under its lock:
// rm, push and forget-host-key.
func stateWrite(d Deps, o *stateOptions, dir string) (code int) {
	ctx := d.ctx()
	l, _ := loadConfig(d, dir, varFlags{}, true)
	store, err := stateStore(ctx, d, dir, cfgOf(l), o.statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return 1
	}
	if err := migrateLocalState(ctx, d, dir, o.statePath, store); err != nil {
		renderError(d, false, "Cannot migrate the state", err)
		return 1
	}
	st, unlock, err := lockedRead(ctx, store, "state "+o.sub)
	if err != nil {
		renderError(d, false, "Cannot read the state", err)
		return 1
	}
	defer releaseLock(d, false, d.guardUnlock(unlock), &code)
	switch o.sub {
	case "forget-host-key":
		return stateForgetHostKey(d, o, store, st)
	case "rm":
		return stateRm(d, o, store, st)
	}
	return statePush(d, o, store, st)
}

// stateForgetHostKey forgets the host key pinned for one resource.
func stateForgetHostKey(d Deps, o *stateOptions, store state.Store, st *state.State) int {
	if len(o.args) != 1 {
		views.RenderArgError(d.Streams.Err, "state forget-host-key takes one ADDRESS")
		return 1
	}
	r := lookupResource(st, o.args[0])
	if r == nil || r.HostKey == "" {
		renderError(d, false, "No pinned host key", fmt.Errorf("%s has no host key recorded in the state", o.args[0]))
		return 1
	}
	r.HostKey = ""
	if err := store.Write(d.ctx(), st); err != nil {
		renderError(d, false, "Cannot write the state", err)
		return 1
	}
	views.NewStateNotices(d.Streams.Out).ForgotHostKey(o.args[0])
	return 0
}

// stateRm forgets resources (all instances of a block named without a key).
func stateRm(d Deps, o *stateOptions, store state.Store, st *state.State) int {
	if len(o.args) == 0 {
		views.RenderArgError(d.Streams.Err, "state rm takes at least one ADDRESS")
		return 1
	}
	var removed []string
	for _, a := range o.args {
		all := stateAddrs(st, a)
		if len(all) == 0 {
			renderError(d, false, "No such resource in the state", fmt.Errorf("%s is not recorded", a))
			return 1
		}
		for _, a := range all {
			st.RemoveResource(a.String())
			removed = append(removed, a.String())
		}
	}
	if err := store.Write(d.ctx(), st); err != nil {
		renderError(d, false, "Cannot write the state", err)
		return 1
	}
	for _, a := range removed {
		views.NewStateNotices(d.Streams.Out).Removed(a)
	}
	return 0
}

// statePush replaces the state with a file of the same lineage and no
// older serial.
func statePush(d Deps, o *stateOptions, store state.Store, st *state.State) int {
	if len(o.args) != 1 {
		views.RenderArgError(d.Streams.Err, "state push takes one FILE")
		return 1
	}
	b, err := os.ReadFile(o.args[0])
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
	if err := store.Write(d.ctx(), ns); err != nil {
		renderError(d, false, "Cannot write the state", err)
		return 1
	}
	views.NewStateNotices(d.Streams.Out).Pushed(store.Describe())
	return 0
}
