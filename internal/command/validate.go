package command

import (
	"github.com/mlops-dev/mlops/views"
)

const validateUsage = `
Usage: mlops [-chdir=DIR] validate [-json]

  Checks the configuration: syntax, blocks and attributes, types, references,
  cycles, CIDRs, ports, sizes, layer settings, and the lock file
  (mlops.lock.hcl). Offline: no API call, no SSH. Variables without a value
  are allowed.
`

// validateOptions are the flags of mlops validate.
type validateOptions struct {
	json  bool
	chdir string
}

func parseValidateOptions(d Deps, args []string) (*validateOptions, bool) {
	o := &validateOptions{}
	fs := newFlags(d, "validate", validateUsage)
	fs.BoolVar(&o.json, "json", false, "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, validateUsage, args) {
		return nil, false
	}
	return o, true
}

func runValidate(d Deps, g globals, args []string) int {
	o, ok := parseValidateOptions(d, args)
	if !ok {
		return 1
	}
	l, diags := loadConfig(d, configDir(d, g, o.chdir), varFlags{}, true)
	if !diags.HasErrors() && l != nil && l.engine != nil {
		// The providers' offline checks: what plan would reject without an API call.
		diags = append(diags, l.engine.Validate()...)
	}
	if o.json {
		_ = views.RenderDiagnosticsJSON(d.Streams.Out, diags)
	} else {
		renderDiags(d, false, cfgOf(l), diags)
		if !diags.HasErrors() {
			views.RenderValid(d.Streams)
		}
	}
	if diags.HasErrors() {
		return 1
	}
	return 0
}
