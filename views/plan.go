package views

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// RenderPlan writes a plan for people: one block per changed resource with
// +/~/- per attribute, layer changes under their host, and a summary line.
func RenderPlan(w io.Writer, s *Streams, schemas schema.Schemas, p *plan.Plan) {
	lw := &lineWriter{streams: s}
	if !p.HasChanges() {
		lw.line("%s", s.color(green+";"+bold, "No changes.")+" Your infrastructure and hosts match the configuration.")
		if p.Destroy {
			lw.line("")
			lw.line("Nothing to destroy: the state records no resources.")
		}
		for _, ch := range p.Changes {
			if ch.HostNote != "" {
				lw.line("")
				lw.line("Note: %s: %s.", ch.Addr, ch.HostNote)
			}
		}
		renderCosts(lw, p.Costs)
		io.WriteString(w, lw.b.String())
		return
	}
	lw.line("mlops will perform the following actions:")
	for _, ch := range p.Changes {
		if ch.Action == plan.NoOp && ch.LayerActions() == 0 {
			continue
		}
		lw.line("")
		renderChange(lw, schemas, ch)
		renderLoses(lw, p, ch)
	}
	c := p.Count()
	lw.line("")
	lw.line("%s %d to add, %d to change, %d to destroy.", s.color(bold, "Plan:"), c.Add, c.Change, c.Destroy)
	renderCosts(lw, p.Costs)
	var outs []*plan.OutputChange
	for _, o := range p.Outputs {
		if o.Action != plan.NoOp {
			outs = append(outs, o)
		}
	}
	if len(outs) > 0 {
		lw.line("")
		lw.line("Changes to Outputs:")
		for _, o := range outs {
			render := func(v cty.Value) string {
				if o.Sensitive {
					return "(sensitive value)"
				}
				return valueString(v, "    ")
			}
			switch o.Action {
			case plan.Create:
				lw.line("  %s %s = %s", lw.symbol(plan.Create), o.Name, render(o.After))
			case plan.Delete:
				lw.line("  %s %s = %s -> null", lw.symbol(plan.Delete), o.Name, render(o.Before))
			default:
				lw.line("  %s %s = %s -> %s", lw.symbol(plan.Update), o.Name, render(o.Before), render(o.After))
			}
		}
	}
	io.WriteString(w, lw.b.String())
}

func headline(ch *plan.Change) string {
	switch ch.Action {
	case plan.Create:
		return "will be created"
	case plan.Update:
		return "will be updated in place"
	case plan.Replace:
		return "must be replaced"
	case plan.Delete:
		return "will be destroyed"
	}
	n := ch.LayerActions()
	return fmt.Sprintf("has %d %s to converge", n, plural(n, "layer", "layers"))
}

func renderChange(lw *lineWriter, schemas schema.Schemas, ch *plan.Change) {
	s := lw.streams
	head := fmt.Sprintf("  # %s %s", ch.Addr, headline(ch))
	if len(ch.Reasons) > 0 {
		head += " (" + printable(strings.Join(ch.Reasons, "; ")) + ")"
	}
	lw.line("%s", s.color(bold, head))
	action := ch.Action
	sym := lw.symbol(action)
	if action == plan.NoOp {
		sym = lw.symbol(plan.Update)
	}
	kw := "resource"
	if ch.Addr.Mode == addrs.Data {
		kw = "data"
	}
	pad := "  "
	if action == plan.Replace {
		pad = ""
	}
	lw.line("%s%s %s %q %q {", pad, sym, kw, ch.Addr.Type, ch.Addr.Name)
	rs := schemas.Resources[ch.Addr.Type]
	replace := map[string]bool{}
	for _, p := range ch.ReplacePaths {
		if len(p) > 0 {
			if ga, ok := p[0].(cty.GetAttrStep); ok {
				replace[ga.Name] = true
			}
		}
	}
	if rs != nil && action != plan.NoOp {
		// Marked attributes render as (sensitive value).
		before, after := plan.MarkSensitive(ch.Before, ch.Sensitive), plan.MarkSensitive(ch.After, ch.Sensitive)
		if action == plan.Replace {
			// A replacement shows old -> new for each attribute.
			lw.blockDiff(&rs.Block, before, after, replace, "      ", plan.Update)
		} else {
			lw.blockDiff(&rs.Block, before, after, replace, "      ", action)
		}
	} else if action == plan.NoOp && rs != nil {
		if id := ch.Before; id != cty.NilVal && !id.IsNull() && id.Type().HasAttribute("id") {
			lw.line("        id = %s", valueString(id.GetAttr("id"), "        "))
		}
	}
	renderLayers(lw, ch)
	lw.line("    }")
	for _, n := range ch.Notes {
		lw.line("    %s", s.color(yellow, "# Note: "+n))
	}
}

func renderLayers(lw *lineWriter, ch *plan.Change) {
	if ch.HostNote != "" {
		lw.line("      # %s", printable(ch.HostNote))
	}
	satisfied := 0
	w := 0
	for _, l := range ch.Layers {
		if n := len(layerLabel(l)); n > w {
			w = n
		}
	}
	for _, l := range ch.Layers {
		if l.Action == plan.NoOp {
			satisfied++
			continue
		}
		line := fmt.Sprintf("      %s %-*s", lw.symbol(l.Action), w, layerLabel(l))
		if len(l.Reasons) > 0 {
			line += "  # " + printable(strings.Join(l.Reasons, "; "))
		}
		lw.line("%s", strings.TrimRight(line, " "))
	}
	if satisfied > 0 && ch.HostNote == "" {
		lw.line("        # (%d satisfied %s hidden)", satisfied, plural(satisfied, "layer", "layers"))
	} else if satisfied > 0 {
		lw.line("        # (%d %s not checked)", satisfied, plural(satisfied, "layer", "layers"))
	}
}

func layerLabel(l *plan.LayerChange) string {
	if l.Addr.Name == l.Kind {
		return fmt.Sprintf("layer %q", l.Kind)
	}
	return fmt.Sprintf("layer %q %q", l.Kind, l.Addr.Name)
}

// JSON plan format (documented in docs/json-format.md).
type jsonPlan struct {
	FormatVersion   string                `json:"format_version"`
	Destroy         bool                  `json:"destroy"`
	ResourceChanges []jsonResourceChange  `json:"resource_changes"`
	OutputChanges   map[string]jsonOutput `json:"output_changes"`
	Summary         jsonSummary           `json:"summary"`
	Lineage         string                `json:"lineage,omitempty"`
	Serial          uint64                `json:"serial"`
	Notes           []string              `json:"notes,omitempty"`
	LockChanges     []jsonLockChange      `json:"lock_changes,omitempty"`
	Costs           *jsonCosts            `json:"costs,omitempty"`
}

type jsonSummary struct {
	Add     int  `json:"add"`
	Change  int  `json:"change"`
	Destroy int  `json:"destroy"`
	Changes bool `json:"has_changes"`
}

type jsonResourceChange struct {
	Address      string          `json:"address"`
	Mode         string          `json:"mode"`
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Action       string          `json:"action"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	AfterUnknown []string        `json:"after_unknown,omitempty"`
	ReplacePaths []string        `json:"replace_paths,omitempty"`
	Reasons      []string        `json:"reasons,omitempty"`
	Notes        []string        `json:"notes,omitempty"`
	HostNote     string          `json:"host_note,omitempty"`
	Layers       []jsonLayer     `json:"layers,omitempty"`
	Replacement  *jsonGuard      `json:"guarded_replacement,omitempty"`
	Sensitive    []string        `json:"sensitive_attributes,omitempty"`
	// IndexKey is the instance key of a resource with count or for_each.
	IndexKey addrs.InstanceKey `json:"index_key,omitempty"`
}

type jsonLayer struct {
	Address string   `json:"address"`
	Kind    string   `json:"kind"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons,omitempty"`
}

type jsonOutput struct {
	Action    string          `json:"action"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	Unknown   bool            `json:"after_unknown,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// knownJSON renders the known part of v as JSON: unknowns become null and
// their paths are returned.
func knownJSON(v cty.Value) (json.RawMessage, []string) {
	if v == cty.NilVal || v.IsNull() {
		return json.RawMessage("null"), nil
	}
	var unknown []string
	known, _ := cty.Transform(v, func(p cty.Path, x cty.Value) (cty.Value, error) {
		if !x.IsKnown() {
			unknown = append(unknown, pathLabel(p))
			return cty.NullVal(x.Type()), nil
		}
		return x, nil
	})
	sort.Strings(unknown)
	b, err := ctyjson.Marshal(known, known.Type())
	if err != nil {
		return json.RawMessage("null"), unknown
	}
	return b, unknown
}

func pathLabel(p cty.Path) string {
	if s := addrs.PathString(p); s != "" {
		return s
	}
	return "(whole value)"
}

// RenderPlanJSON writes the plan as one JSON document.
func RenderPlanJSON(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(PlanJSON(p))
}

// PlanJSON is the plan in its JSON form (docs/json-format.md).
func PlanJSON(p *plan.Plan) any {
	c := p.Count()
	jp := jsonPlan{FormatVersion: "1", Destroy: p.Destroy, OutputChanges: map[string]jsonOutput{},
		Summary: jsonSummary{Add: c.Add, Change: c.Change, Destroy: c.Destroy, Changes: p.HasChanges()},
		Lineage: p.Lineage, Serial: p.Serial, ResourceChanges: []jsonResourceChange{}, Costs: costsJSON(p.Costs)}
	for _, ch := range p.Changes {
		mode := "managed"
		if ch.Addr.Mode == addrs.Data {
			mode = "data"
		}
		jc := jsonResourceChange{Address: ch.Addr.String(), Mode: mode, Type: ch.Addr.Type, Name: ch.Addr.Name,
			Action: ch.Action.Verb(), Reasons: ch.Reasons, Notes: ch.Notes, HostNote: ch.HostNote, IndexKey: ch.Addr.Key}
		jc.Before, _ = knownJSON(plan.MaskSensitive(ch.Before, ch.Sensitive))
		jc.After, jc.AfterUnknown = knownJSON(plan.MaskSensitive(ch.After, ch.Sensitive))
		jc.Sensitive = ch.Sensitive
		for _, p := range ch.ReplacePaths {
			jc.ReplacePaths = append(jc.ReplacePaths, pathLabel(p))
		}
		for _, l := range ch.Layers {
			jc.Layers = append(jc.Layers, jsonLayer{Address: l.Addr.String(), Kind: l.Kind, Action: l.Action.Verb(), Reasons: l.Reasons})
		}
		jc.Replacement = guardJSON(p, ch)
		jp.ResourceChanges = append(jp.ResourceChanges, jc)
	}
	for _, o := range p.Outputs {
		jo := jsonOutput{Action: o.Action.Verb(), Sensitive: o.Sensitive}
		if o.Sensitive {
			jo.Before, jo.After = json.RawMessage(`"(sensitive value)"`), json.RawMessage(`"(sensitive value)"`)
		} else {
			jo.Before, _ = knownJSON(o.Before)
			var unk []string
			jo.After, unk = knownJSON(o.After)
			jo.Unknown = len(unk) > 0
		}
		jp.OutputChanges[o.Name] = jo
	}
	jp.Notes, jp.LockChanges = p.Notes, lockChangesJSON(p)
	return jp
}
