package command

import (
	"bufio"
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/mlops-dev/mlops/config"
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
  -delete ADDR         Allow deleting this converged machine, which is no longer
                       in the configuration (repeatable).
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
  -delete ADDR         Allow deleting this machine with layers or a data volume
                       whose block was removed (or whose key left count or
                       for_each); apply refuses that unless it is named so
                       (repeatable). mlops state rm ADDR forgets it instead.
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
	deletes          stringList
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
		fs.Var(&o.deletes, "delete", "")
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
		views.RenderUsageError(d.Streams.Err, fmt.Sprintf("unexpected argument %q", rest[0]), usage)
		return nil, false
	}
	if o.parallelism < 1 {
		views.RenderArgError(d.Streams.Err, "-parallelism must be at least 1")
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
// The first Ctrl-C (or SIGTERM) at the prompt cancels.
func approve(d Deps, op string) bool {
	v := views.NewApproval(d.Streams)
	if !d.Streams.InTTY {
		v.NoTerminal(op)
		return false
	}
	v.Ask(op)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(d.Streams.In).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-d.ctx().Done():
		// The reader is left blocked on the terminal; the process ends soon.
	}
	if strings.TrimSpace(line) != "yes" {
		v.Cancelled(op)
		return false
	}
	return true
}

var _ = flag.ErrHelp
