package views

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// testOutput records v as state records an output.
func testOutput(t *testing.T, v cty.Value, sensitive bool) *state.Output {
	t.Helper()
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		t.Fatal(err)
	}
	typ, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		t.Fatal(err)
	}
	return &state.Output{Value: json.RawMessage(val), Type: json.RawMessage(typ), Sensitive: sensitive}
}

// TestOperationViews pins what plan, apply and destroy show through either
// view, for the same calls: a run that plans and saves, one that applies and
// lists outputs, one that finds nothing to do.
func TestOperationViews(t *testing.T) {
	src := []byte("resource \"aws_instance\" \"dev\" {\n  instance_type = \"g5.xlarge\"\n}\n")
	files := map[string]*hcl.File{"main.hcl": {Bytes: src}}
	warning := hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Costly instance",
		Detail:  "g5.xlarge costs about $1.01 an hour.",
		Subject: &hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: 19, Byte: 50}, End: hcl.Pos{Line: 2, Column: 30, Byte: 61}}}}
	outputs := map[string]*state.Output{
		"ip":       testOutput(t, cty.StringVal("203.0.113.7"), false),
		"password": testOutput(t, cty.StringVal("hunter2"), true),
		"ports":    testOutput(t, cty.ListVal([]cty.Value{cty.NumberIntVal(22), cty.NumberIntVal(8888)}), false),
	}
	now := func() time.Time { return time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) }
	runs := []struct {
		name string
		run  func(v Operation)
	}{
		{"plan-saved", func(v Operation) {
			p, schemas := guardedPlan(true)
			v.Diagnostics(files, warning)
			v.Plan(schemas, p, true)
			v.PlanSaved("dev.plan")
		}},
		{"apply-summary", func(v Operation) {
			p, schemas := guardedPlan(true)
			v.PlannedChanges(schemas, p)
			v.Summary("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.")
			v.Outputs(outputs)
		}},
		{"nothing-to-do", func(v Operation) {
			_, schemas := guardedPlan(false)
			v.PlannedChanges(schemas, &plan.Plan{Lineage: "l", Serial: 3})
			v.NothingToDo()
			v.Outputs(outputs)
		}},
	}
	for _, r := range runs {
		for _, jsonOut := range []bool{false, true} {
			name, ext := r.name, ".txt"
			if jsonOut {
				ext = ".json"
			}
			t.Run(name+ext, func(t *testing.T) {
				var out, errb bytes.Buffer
				v := NewOperation(&Streams{Out: &out, Err: &errb}, jsonOut, now)
				r.run(v)
				golden(t, filepath.Join("testdata", "operation", name+ext), "--- stdout\n"+out.String()+"--- stderr\n"+errb.String())
			})
		}
	}
}

// TestRenderOutputsEmpty: without outputs there is no "Outputs:" heading.
func TestRenderOutputsEmpty(t *testing.T) {
	var out bytes.Buffer
	RenderOutputs(&out, nil)
	if out.Len() != 0 {
		t.Fatalf("RenderOutputs(nil) printed %q", out.String())
	}
}

// TestApprovalView pins the prompt of apply and destroy and the two
// refusals, with and without colour.
func TestApprovalView(t *testing.T) {
	for _, color := range []bool{false, true} {
		name := "approval.txt"
		if color {
			name = "approval-color.txt"
		}
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := NewApproval(&Streams{Out: &out, Err: &errb, Color: color})
			a.Ask("apply")
			a.Ask("destroy")
			a.NoTerminal("destroy")
			a.Cancelled("apply")
			golden(t, filepath.Join("testdata", "operation", name), "--- stdout\n"+out.String()+"\n--- stderr\n"+errb.String())
		})
	}
}
