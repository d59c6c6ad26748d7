package command

import (
	"fmt"

	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

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

// outputOptions are the flags and NAME arguments of mlops output.
type outputOptions struct {
	json      bool
	raw       bool
	statePath string
	chdir     string
	names     []string
}

func parseOutputOptions(d Deps, args []string) (*outputOptions, bool) {
	o := &outputOptions{}
	fs := newFlags(d, "output", outputUsage)
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.raw, "raw", false, "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, outputUsage, args) {
		return nil, false
	}
	o.names = fs.Args()
	return o, true
}

func runOutput(d Deps, g globals, args []string) int {
	o, ok := parseOutputOptions(d, args)
	if !ok {
		return 1
	}
	st, _, err := readState(d, configDir(d, g, o.chdir), o.statePath)
	if err != nil {
		renderError(d, o.json, "Cannot read the state", err)
		return 1
	}
	if len(o.names) > 1 {
		views.RenderArgError(d.Streams.Err, "output takes at most one NAME")
		return 1
	}
	if len(o.names) == 1 {
		return showOutput(d, o, st, o.names[0])
	}
	views.NewOutputs(d.Streams, o.json).All(st.Outputs)
	return 0
}

// showOutput prints the output name alone: as JSON, raw, or as a value.
func showOutput(d Deps, opts *outputOptions, st *state.State, name string) int {
	o, ok := st.Outputs[name]
	if !ok {
		renderError(d, opts.json, "Output not found", fmt.Errorf("no output named %q in the state; apply first, or check the name", name))
		return 1
	}
	v, err := plan.DecodeOutput(o)
	if err != nil {
		renderError(d, opts.json, "Invalid output in state", err)
		return 1
	}
	views.NewOutputs(d.Streams, opts.json).One(o, v, opts.raw)
	return 0
}
