package command

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/prices"
	"github.com/mlops-dev/mlops/views"
	"github.com/zclconf/go-cty/cty"
)

const statusUsage = `
Usage: mlops [-chdir=DIR] status [options]

  Shows every machine of the stack in one view: its state, type, address,
  ssh alias, when it was started and what it has cost since (at the
  on-demand prices of mlops's price table), who stopped a stopped one, and,
  for a running one, what its idle_stop agent sees. It reads all machines
  with one call to EC2 and each running one with one SSH round trip, and
  changes nothing.

Options:
  -json                Print the status as JSON (format: docs/json-format.md).
  -var NAME=VALUE      Set a variable (repeatable), as given to apply.
  -var-file FILE       Read variables from an HCL file (repeatable).
  -state PATH          Local state file (default .mlops/state.json).
`

type statusOptions struct {
	vf        varFlags
	statePath string
	chdir     string
	json      bool
}

func runStatus(d Deps, g globals, args []string) int {
	o := &statusOptions{}
	fs := newFlags(d, "status", statusUsage)
	fs.Var(&o.vf.vars, "var", "")
	fs.Var(&o.vf.varFiles, "var-file", "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	fs.BoolVar(&o.json, "json", false, "")
	if !parseFlags(d, fs, statusUsage, args) {
		return 1
	}
	if rest := fs.Args(); len(rest) > 0 {
		views.RenderUsageError(d.Streams.Err, fmt.Sprintf("unexpected argument %q", rest[0]), statusUsage)
		return 1
	}
	dir := configDir(d, g, o.chdir)
	l, diags := loadConfig(d, dir, o.vf, true)
	if diags.HasErrors() {
		renderDiags(d, o.json, cfgOf(l), diags)
		return 1
	}
	ctx := d.ctx()
	store, err := stateStore(ctx, d, dir, l.cfg, o.statePath)
	if err != nil {
		renderError(d, o.json, "Cannot open the state", err)
		return 1
	}
	st, err := store.Read(ctx)
	if err != nil {
		renderError(d, o.json, "Cannot read the state", err)
		return 1
	}
	if st == nil {
		renderError(d, o.json, "No state", errors.New("nothing has been applied here yet: run mlops apply first"))
		return 1
	}
	if diags := l.engine.ConfigureProviders(ctx, st); diags.HasErrors() {
		renderDiags(d, o.json, l.cfg, diags)
		return 1
	}
	machines, diags := l.engine.Status(ctx, st)
	if diags.HasErrors() {
		renderDiags(d, o.json, l.cfg, diags)
		return 1
	}
	view := statusView(awsRegion(l.cfg), machines, d.Now())
	if o.json {
		_ = views.RenderStatusJSON(d.Streams.Out, view)
		return 0
	}
	views.RenderStatus(d.Streams.Out, d.Streams, view)
	return 0
}

// statusView turns the machines into what the views show.
func statusView(region string, machines []plan.MachineStatus, now time.Time) *views.Status {
	t := prices.AWS()
	s := &views.Status{Region: region, PriceDate: t.Date, PriceSource: t.Source, Machines: []views.MachineStatus{}}
	for _, m := range machines {
		v := m.Value
		ms := views.MachineStatus{Address: m.Addr.String(), Alias: m.SSH.Alias}
		if v.IsNull() {
			ms.State = "gone"
			s.Machines = append(s.Machines, ms)
			continue
		}
		ms.State = str(v, "instance_state")
		if ms.State == "" {
			ms.State = "running"
			if m.Stopped {
				ms.State = "stopped"
			}
		}
		ms.Type, ms.PublicIP, ms.StopReason = str(v, "instance_type"), str(v, "public_ip"), str(v, "stop_reason")
		if c := t.Price(region, prices.Resource{Address: ms.Address, Type: m.Addr.Type, Value: v}, nil); c != nil {
			ms.Hourly, ms.StoppedMonthly, ms.PriceUnknown = c.Hourly, c.StoppedMonthly, c.Unknown
			s.StoppedMonthly += c.StoppedMonthly
		}
		if lt, err := time.Parse(time.RFC3339, str(v, "launch_time")); err == nil && ms.State == "running" {
			ms.RunningSince = lt.UTC()
			ms.RunningFor = now.Sub(lt).Truncate(time.Minute)
			ms.CostSinceStart = ms.Hourly * now.Sub(lt).Hours()
		}
		if ms.State == "running" {
			s.Hourly += ms.Hourly
			s.Running++
		}
		for _, l := range m.Layers {
			if l.Info != "" {
				first, rest, _ := strings.Cut(l.Info, "\n")
				ms.Agent = first
				if rest != "" {
					ms.AgentLog = strings.Split(rest, "\n")
				}
			}
			if !l.Satisfied {
				ms.LayersToConverge = append(ms.LayersToConverge, l.Addr.Name)
			}
		}
		for _, d := range m.Diagnostics {
			ms.Problems = append(ms.Problems, d.Summary+": "+d.Detail)
		}
		s.Machines = append(s.Machines, ms)
	}
	return s
}

func str(v cty.Value, name string) string {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if !a.IsKnown() || a.IsNull() {
		return ""
	}
	if a.Type() == cty.Number {
		return a.AsBigFloat().Text('f', -1)
	}
	if a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}
