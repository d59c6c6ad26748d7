package views

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
)

// progressing is the verb of an action in progress, as shown while waiting.
func progressing(a plan.Action) string {
	switch a {
	case plan.Create, plan.Replace:
		return "Creating"
	case plan.Update:
		return "Modifying"
	case plan.Delete:
		return "Destroying"
	case plan.Read:
		return "Reading"
	}
	return "Applying"
}

func finished(a plan.Action) string {
	switch a {
	case plan.Create, plan.Replace:
		return "Creation complete"
	case plan.Update:
		return "Modifications complete"
	case plan.Delete:
		return "Destruction complete"
	}
	return "Complete"
}

func round(d time.Duration) string {
	return d.Round(time.Second).String()
}

// HumanHooks prints apply progress as lines of text. It is safe for
// concurrent use; lines of different resources interleave but never mix.
type HumanHooks struct {
	mu      sync.Mutex
	w       io.Writer
	streams *Streams
}

// NewHumanHooks writes progress to w.
func NewHumanHooks(w io.Writer, s *Streams) *HumanHooks { return &HumanHooks{w: w, streams: s} }

func (h *HumanHooks) printf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.w, format+"\n", args...)
}

func idSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " [id=" + id + "]"
}

func (h *HumanHooks) Refreshing(a addrs.Resource, id string) {
	h.printf("%s: Refreshing state...%s", a, idSuffix(id))
}
func (h *HumanHooks) Probing(a addrs.Resource, target string) {
	h.printf("%s: Checking layers on %s...", a, printable(target))
}
func (h *HumanHooks) PreApply(a addrs.Resource, act plan.Action, id string) {
	h.printf("%s: %s...%s", h.streams.color(bold, a.String()), progressing(act), idSuffix(id))
}
func (h *HumanHooks) Progress(a addrs.Resource, msg string) { h.printf("%s: %s", a, printable(msg)) }
func (h *HumanHooks) StillApplying(a addrs.Resource, act plan.Action, d time.Duration) {
	h.printf("%s: Still %s... [%s elapsed]", a, lowerFirst(progressing(act)), round(d))
}
func (h *HumanHooks) PostApply(a addrs.Resource, act plan.Action, id string, d time.Duration, diags hcl.Diagnostics) {
	if diags.HasErrors() {
		h.printf("%s: %s after %s", a, h.streams.color(red, "Failed"), round(d))
		return
	}
	h.printf("%s: %s after %s%s", h.streams.color(bold, a.String()), finished(act), round(d), idSuffix(id))
}
func (h *HumanHooks) LayerStart(l addrs.Layer, act plan.Action) {
	verb := "Applying"
	if act == plan.Delete {
		verb = "Removing"
	}
	h.printf("%s: %s...", h.streams.color(bold, l.String()), verb)
}
func (h *HumanHooks) LayerOutput(l addrs.Layer, line string) {
	h.printf("%s: %s %s", l, h.streams.color(cyan, "|"), printable(line))
}
func (h *HumanHooks) LayerStill(l addrs.Layer, act plan.Action, d time.Duration) {
	h.printf("%s: Still applying... [%s elapsed]", l, round(d))
}
func (h *HumanHooks) LayerDone(l addrs.Layer, act plan.Action, d time.Duration, diags hcl.Diagnostics) {
	if diags.HasErrors() {
		h.printf("%s: %s after %s", l, h.streams.color(red, "Failed"), round(d))
		return
	}
	h.printf("%s: %s after %s", h.streams.color(bold, l.String()), "Complete", round(d))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}

// JSONHooks prints one JSON object per event and line (machine readable).
type JSONHooks struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

// NewJSONHooks writes events to w.
func NewJSONHooks(w io.Writer, now func() time.Time) *JSONHooks {
	return &JSONHooks{enc: json.NewEncoder(w), now: now}
}

// Event is one line of JSON output.
type Event struct {
	Time     string  `json:"@timestamp"`
	Level    string  `json:"@level"`
	Message  string  `json:"@message"`
	Type     string  `json:"type"`
	Address  string  `json:"address,omitempty"`
	Action   string  `json:"action,omitempty"`
	ID       string  `json:"id,omitempty"`
	Elapsed  float64 `json:"elapsed_seconds,omitempty"`
	Line     string  `json:"line,omitempty"`
	Error    string  `json:"error,omitempty"`
	Progress string  `json:"progress,omitempty"`
	Plan     any     `json:"plan,omitempty"`
}

func (h *JSONHooks) emit(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.Time = h.now().UTC().Format(time.RFC3339Nano)
	if e.Level == "" {
		e.Level = "info"
	}
	_ = h.enc.Encode(e)
}

// Emit writes a free-form event (summaries, outputs).
func (h *JSONHooks) Emit(e Event) { h.emit(e) }

func (h *JSONHooks) Refreshing(a addrs.Resource, id string) {
	h.emit(Event{Type: "refresh_start", Address: a.String(), ID: id, Message: a.String() + ": Refreshing state..."})
}
func (h *JSONHooks) Probing(a addrs.Resource, target string) {
	h.emit(Event{Type: "probe_start", Address: a.String(), Message: a.String() + ": Checking layers on " + target})
}
func (h *JSONHooks) PreApply(a addrs.Resource, act plan.Action, id string) {
	h.emit(Event{Type: "apply_start", Address: a.String(), Action: act.Verb(), ID: id, Message: a.String() + ": " + progressing(act) + "..."})
}
func (h *JSONHooks) Progress(a addrs.Resource, msg string) {
	h.emit(Event{Type: "apply_progress", Address: a.String(), Progress: msg, Message: a.String() + ": " + msg})
}
func (h *JSONHooks) StillApplying(a addrs.Resource, act plan.Action, d time.Duration) {
	h.emit(Event{Type: "apply_progress", Address: a.String(), Action: act.Verb(), Elapsed: d.Seconds(), Message: fmt.Sprintf("%s: Still %s... [%s elapsed]", a, lowerFirst(progressing(act)), round(d))})
}
func (h *JSONHooks) PostApply(a addrs.Resource, act plan.Action, id string, d time.Duration, diags hcl.Diagnostics) {
	if diags.HasErrors() {
		h.emit(Event{Level: "error", Type: "apply_errored", Address: a.String(), Action: act.Verb(), Elapsed: d.Seconds(), Error: diags.Error(), Message: a.String() + ": failed"})
		return
	}
	h.emit(Event{Type: "apply_complete", Address: a.String(), Action: act.Verb(), ID: id, Elapsed: d.Seconds(), Message: a.String() + ": " + finished(act)})
}
func (h *JSONHooks) LayerStart(l addrs.Layer, act plan.Action) {
	h.emit(Event{Type: "layer_start", Address: l.String(), Action: act.Verb(), Message: l.String() + ": Applying..."})
}
func (h *JSONHooks) LayerOutput(l addrs.Layer, line string) {
	h.emit(Event{Type: "layer_output", Address: l.String(), Line: line, Message: l.String() + ": " + line})
}
func (h *JSONHooks) LayerStill(l addrs.Layer, act plan.Action, d time.Duration) {
	h.emit(Event{Type: "layer_progress", Address: l.String(), Action: act.Verb(), Elapsed: d.Seconds(), Message: fmt.Sprintf("%s: Still applying... [%s elapsed]", l, round(d))})
}
func (h *JSONHooks) LayerDone(l addrs.Layer, act plan.Action, d time.Duration, diags hcl.Diagnostics) {
	if diags.HasErrors() {
		h.emit(Event{Level: "error", Type: "layer_errored", Address: l.String(), Action: act.Verb(), Elapsed: d.Seconds(), Error: diags.Error(), Message: l.String() + ": failed"})
		return
	}
	h.emit(Event{Type: "layer_complete", Address: l.String(), Action: act.Verb(), Elapsed: d.Seconds(), Message: l.String() + ": Complete"})
}

var (
	_ plan.Hooks = (*HumanHooks)(nil)
	_ plan.Hooks = (*JSONHooks)(nil)
)
