package views

import (
	"encoding/json"
	"fmt"

	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// Outputs is what mlops output shows; NewOutputs picks the human or the
// JSON implementation once, from -json.
type Outputs interface {
	// All lists every output.
	All(outputs map[string]*state.Output)
	// One shows one output o, decoded as v; raw prints a string as it is,
	// without quotes, and a sensitive value too.
	One(o *state.Output, v cty.Value, raw bool)
}

// NewOutputs returns the JSON view when jsonOut is set, else the human one.
func NewOutputs(s *Streams, jsonOut bool) Outputs {
	if jsonOut {
		return jsonOutputs{s}
	}
	return humanOutputs{s}
}

type humanOutputs struct{ streams *Streams }

func (v humanOutputs) All(outputs map[string]*state.Output) {
	if len(outputs) == 0 {
		fmt.Fprintln(v.streams.Err, "No outputs found: the state records none yet. Run mlops apply first.")
		return
	}
	RenderOutputs(v.streams.Out, outputs)
}

func (v humanOutputs) One(o *state.Output, val cty.Value, raw bool) {
	switch {
	case raw && val.Type() == cty.String:
		fmt.Fprint(v.streams.Out, val.AsString())
	case o.Sensitive && !raw:
		// As Terraform: only -raw and -json print a sensitive value.
		fmt.Fprintln(v.streams.Out, plan.SensitiveValue)
	default:
		fmt.Fprintln(v.streams.Out, ValueString(val))
	}
}

// jsonOutputs prints the recorded JSON: an object of every output's
// value, type and sensitivity, or one output's value.
type jsonOutputs struct{ streams *Streams }

func (v jsonOutputs) All(outputs map[string]*state.Output) {
	out := map[string]any{}
	for n, o := range outputs {
		out[n] = map[string]any{"value": o.Value, "type": o.Type, "sensitive": o.Sensitive}
	}
	enc := json.NewEncoder(v.streams.Out)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func (v jsonOutputs) One(o *state.Output, val cty.Value, raw bool) {
	fmt.Fprintln(v.streams.Out, string(o.Value))
}
