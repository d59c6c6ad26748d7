package views

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// TestOutputsView pins mlops output: all outputs, each one alone (plain,
// -raw), a sensitive one, and no outputs at all, as text and as JSON.
func TestOutputsView(t *testing.T) {
	outputs := map[string]*state.Output{
		"ip":       testOutput(t, cty.StringVal("203.0.113.7"), false),
		"password": testOutput(t, cty.StringVal("hunter2"), true),
		"ports":    testOutput(t, cty.ListVal([]cty.Value{cty.NumberIntVal(22), cty.NumberIntVal(8888)}), false),
	}
	for _, jsonOut := range []bool{false, true} {
		name := "outputs.txt"
		if jsonOut {
			name = "outputs.json"
		}
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			v := NewOutputs(&Streams{Out: &out, Err: &errb}, jsonOut)
			v.All(outputs)
			for _, n := range []string{"ip", "password", "ports"} {
				val, err := plan.DecodeOutput(outputs[n])
				if err != nil {
					t.Fatal(err)
				}
				for _, raw := range []bool{false, true} {
					out.WriteString("--- " + n)
					if raw {
						out.WriteString(" -raw")
					}
					out.WriteString("\n")
					v.One(outputs[n], val, raw)
					out.WriteString("\n")
				}
			}
			out.WriteString("--- none\n")
			v.All(nil)
			golden(t, filepath.Join("testdata", "operation", name), "--- stdout\n"+out.String()+"--- stderr\n"+errb.String())
		})
	}
}
