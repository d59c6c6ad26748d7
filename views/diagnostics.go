package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/mitchellh/go-wordwrap"

	"github.com/hashicorp/hcl/v2"
)

// MaxRenderedDiagnostics bounds the diagnostics shown in text: a broken
// file can yield tens of thousands, and the first ones are what to fix.
// The rest are counted ("and 19950 more errors").
const MaxRenderedDiagnostics = 50

// maxSnippet bounds the source line shown under a diagnostic, in runes
// around the column (a minified or generated file has megabyte lines).
const maxSnippet = 160

// RenderDiagnostics writes each diagnostic as
//
//	Error: Summary
//
//	  on main.hcl:21:19:
//	  21:     cidr_blocks = ["0.0.0.0/33"]
//	                        ^^^^^^^^^^^^^^
//
//	Detail, wrapped.
//
// files supplies the source lines (nil: no snippets). It takes time linear
// in the diagnostics shown plus the size of the files they point into.
func RenderDiagnostics(w io.Writer, s *Streams, files map[string]*hcl.File, diags hcl.Diagnostics) {
	width := s.Width
	if width <= 0 {
		width = 78
	}
	lines := map[*hcl.File][]int{}
	for i, d := range diags {
		if i == MaxRenderedDiagnostics {
			writeOmitted(w, s, diags[i:])
			return
		}
		label, code := "Error", red
		if d.Severity == hcl.DiagWarning {
			label, code = "Warning", yellow
		}
		fmt.Fprintf(w, "\n%s %s\n", s.color(code+";"+bold, label+":"), s.color(bold, printable(d.Summary)))
		if d.Subject != nil && d.Subject.Filename != "" {
			r := d.Subject
			fmt.Fprintf(w, "\n  on %s:%d:%d:\n", printable(r.Filename), r.Start.Line, r.Start.Column)
			if f := files[r.Filename]; f != nil {
				starts, ok := lines[f]
				if !ok {
					starts = lineStarts(f.Bytes)
					lines[f] = starts
				}
				writeSnippet(w, s, f.Bytes, starts, *r)
			}
		}
		if d.Detail != "" {
			fmt.Fprintln(w)
			fmt.Fprintln(w, wordwrap.WrapString(Printable(d.Detail, true), uint(width)))
		}
	}
}

// writeOmitted counts the diagnostics not shown.
func writeOmitted(w io.Writer, s *Streams, rest hcl.Diagnostics) {
	errs, warns := 0, 0
	for _, d := range rest {
		if d.Severity == hcl.DiagWarning {
			warns++
		} else {
			errs++
		}
	}
	var parts []string
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("%d more %s", errs, plural(errs, "error", "errors")))
	}
	if warns > 0 {
		parts = append(parts, fmt.Sprintf("%d more %s", warns, plural(warns, "warning", "warnings")))
	}
	fmt.Fprintf(w, "\n%s\n", s.color(bold, "... and "+strings.Join(parts, " and ")+" not shown (the first are the ones to fix)."))
}

// lineStarts returns the byte offset of every line of src.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// writeSnippet prints the subject's first line with a caret underline,
// clipped to maxSnippet runes around the subject.
func writeSnippet(w io.Writer, s *Streams, src []byte, starts []int, r hcl.Range) {
	if r.Start.Line < 1 || r.Start.Line > len(starts) {
		return
	}
	lineEnd := len(src)
	if r.Start.Line < len(starts) {
		lineEnd = starts[r.Start.Line] - 1
	}
	line := strings.TrimRight(string(src[starts[r.Start.Line-1]:lineEnd]), "\r")
	start := r.Start.Column - 1 // in runes (HCL columns count characters)
	runes := []rune(line)
	if start < 0 || start > len(runes) {
		start = -1
	}
	end := len(runes)
	if start >= 0 && r.End.Line == r.Start.Line && r.End.Column-1 > start && r.End.Column-1 <= len(runes) {
		end = r.End.Column - 1
	}
	// Clip long lines to a window that begins a little before the subject.
	from, to := 0, len(runes)
	if to > maxSnippet {
		if start > 20 {
			from = start - 20
		}
		to = min(from+maxSnippet, len(runes))
	}
	shown := printable(strings.ReplaceAll(string(runes[from:to]), "\t", " "))
	lead, tail := "", ""
	if from > 0 {
		lead = "..."
	}
	if to < len(runes) {
		tail = "..."
	}
	prefix := fmt.Sprintf("  %d: ", r.Start.Line)
	fmt.Fprintf(w, "%s%s%s%s\n", prefix, lead, shown, tail)
	if start < 0 {
		return
	}
	end = min(end, to)
	n := max(end-start, 1)
	padRunes := printable(strings.ReplaceAll(string(runes[from:start]), "\t", " "))
	pad := strings.Repeat(" ", len(prefix)+len(lead)+utf8.RuneCountInString(padRunes))
	fmt.Fprintf(w, "%s%s\n", pad, s.color(red, strings.Repeat("^", n)))
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonDiag struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

// DiagnosticsJSON converts diagnostics into their JSON form.
func DiagnosticsJSON(diags hcl.Diagnostics) []any {
	out := []any{}
	for _, d := range diags {
		jd := jsonDiag{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			r := d.Subject
			jd.Range = &jsonRange{Filename: r.Filename,
				Start: jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte}, End: jsonPos{r.End.Line, r.End.Column, r.End.Byte}}
		}
		out = append(out, jd)
	}
	return out
}

// MaxJSONDiagnostics bounds the diagnostics of a JSON document; the number
// left out is "diagnostics_omitted".
const MaxJSONDiagnostics = 1000

// RenderDiagnosticsJSON writes {"valid": ..., "diagnostics": [...]}.
func RenderDiagnosticsJSON(w io.Writer, diags hcl.Diagnostics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	doc := map[string]any{"valid": !diags.HasErrors(), "error_count": countErrors(diags)}
	if len(diags) > MaxJSONDiagnostics {
		doc["diagnostics_omitted"] = len(diags) - MaxJSONDiagnostics
		diags = diags[:MaxJSONDiagnostics]
	}
	doc["diagnostics"] = DiagnosticsJSON(diags)
	return enc.Encode(doc)
}

func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}
