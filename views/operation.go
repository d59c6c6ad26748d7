package views

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
)

// Operation is what plan, apply and destroy show besides their progress
// hooks: diagnostics, the plan, where a plan was saved, the summary and the
// outputs. A command picks the human or the JSON implementation once, from
// -json, and never asks again.
type Operation interface {
	// Diagnostics shows errors and warnings (file names already as the
	// user should read them).
	Diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics)
	// Plan is mlops plan's result. afterRefresh says that refresh lines
	// were printed before it.
	Plan(schemas schema.Schemas, p *plan.Plan, afterRefresh bool)
	// PlannedChanges shows the plan that apply or destroy is about to carry out.
	PlannedChanges(schemas schema.Schemas, p *plan.Plan)
	// PlanSaved says where mlops plan -out saved the plan.
	PlanSaved(path string)
	// NothingToDo closes an apply or destroy that found no change.
	NothingToDo()
	// Summary closes an apply or destroy that changed something.
	Summary(msg string)
	// Outputs lists the output values after apply.
	Outputs(outputs map[string]*state.Output)
}

// NewOperation returns the JSON view when jsonOut is set, else the human one.
func NewOperation(s *Streams, jsonOut bool, now func() time.Time) Operation {
	if jsonOut {
		return &JSONOperation{streams: s, Events: NewJSONHooks(s.Out, now)}
	}
	return &HumanOperation{streams: s}
}

// HumanOperation writes text: diagnostics to stderr, the rest to stdout.
type HumanOperation struct{ streams *Streams }

func (v *HumanOperation) Diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) > 0 {
		RenderDiagnostics(v.streams.Err, v.streams, files, diags)
	}
}

func (v *HumanOperation) Plan(schemas schema.Schemas, p *plan.Plan, afterRefresh bool) {
	if afterRefresh {
		fmt.Fprintln(v.streams.Out)
	}
	RenderPlan(v.streams.Out, v.streams, schemas, p)
	RenderPlanLock(v.streams.Out, v.streams, p)
}

func (v *HumanOperation) PlannedChanges(schemas schema.Schemas, p *plan.Plan) {
	v.Plan(schemas, p, true)
}

func (v *HumanOperation) PlanSaved(path string) {
	fmt.Fprintf(v.streams.Out, "\nSaved the plan to %s. To carry it out exactly: mlops apply %s\n", path, path)
}

// NothingToDo prints nothing: the plan already said "No changes".
func (v *HumanOperation) NothingToDo() {}

func (v *HumanOperation) Summary(msg string) {
	fmt.Fprintf(v.streams.Out, "\n%s\n", v.streams.Colorize("32;1", msg))
}

func (v *HumanOperation) Outputs(outputs map[string]*state.Output) {
	RenderOutputs(v.streams.Out, outputs)
}

// RenderOutputs lists outputs as NAME = VALUE lines under an "Outputs:"
// heading, sorted by name, sensitive values masked. It prints nothing when
// there are none.
func RenderOutputs(w io.Writer, outputs map[string]*state.Output) {
	if len(outputs) == 0 {
		return
	}
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nOutputs:")
	fmt.Fprintln(w)
	for _, n := range names {
		o := outputs[n]
		if o.Sensitive {
			fmt.Fprintf(w, "%s = (sensitive value)\n", n)
			continue
		}
		v, err := plan.DecodeOutput(o)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "%s = %s\n", n, ValueString(v))
	}
}

// JSONOperation writes machine-readable output to stdout: mlops plan -json
// prints one plan document; apply and destroy print one event per line
// through Events, which the apply hooks share.
type JSONOperation struct {
	streams *Streams
	Events  *JSONHooks
}

func (v *JSONOperation) Diagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) > 0 {
		_ = RenderDiagnosticsJSON(v.streams.Out, diags)
	}
}

func (v *JSONOperation) Plan(schemas schema.Schemas, p *plan.Plan, afterRefresh bool) {
	_ = RenderPlanJSON(v.streams.Out, p)
}

func (v *JSONOperation) PlannedChanges(schemas schema.Schemas, p *plan.Plan) {
	v.Events.Emit(Event{Type: "planned_changes", Message: "Planned changes", Plan: PlanJSON(p)})
}

// PlanSaved prints nothing: the JSON document is the plan itself.
func (v *JSONOperation) PlanSaved(path string) {}

func (v *JSONOperation) NothingToDo() {
	v.Events.Emit(Event{Type: "change_summary", Message: "Apply complete! Resources: 0 added, 0 changed, 0 destroyed."})
}

func (v *JSONOperation) Summary(msg string) {
	v.Events.Emit(Event{Type: "change_summary", Message: msg})
}

// Outputs prints nothing: mlops output -json is the machine-readable way.
func (v *JSONOperation) Outputs(outputs map[string]*state.Output) {}
