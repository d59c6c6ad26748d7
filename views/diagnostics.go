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
// files supplies the source lines (nil: no snippets).
func RenderDiagnostics(w io.Writer, s *Streams, files map[string]*hcl.File, diags hcl.Diagnostics) {
	width := s.Width
	if width <= 0 {
		width = 78
	}
	for _, d := range diags {
		label, code := "Error", red
		if d.Severity == hcl.DiagWarning {
			label, code = "Warning", yellow
		}
		fmt.Fprintf(w, "\n%s %s\n", s.color(code+";"+bold, label+":"), s.color(bold, d.Summary))
		if d.Subject != nil && d.Subject.Filename != "" {
			r := d.Subject
			fmt.Fprintf(w, "\n  on %s:%d:%d:\n", r.Filename, r.Start.Line, r.Start.Column)
			if f := files[r.Filename]; f != nil {
				writeSnippet(w, s, f.Bytes, *r)
			}
		}
		if d.Detail != "" {
			fmt.Fprintln(w)
			fmt.Fprintln(w, wordwrap.WrapString(d.Detail, uint(width)))
		}
	}
}

// writeSnippet prints the subject's first line with a caret underline.
func writeSnippet(w io.Writer, s *Streams, src []byte, r hcl.Range) {
	lines := strings.Split(string(src), "\n")
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[r.Start.Line-1], "\r")
	prefix := fmt.Sprintf("  %d: ", r.Start.Line)
	fmt.Fprintf(w, "%s%s\n", prefix, strings.ReplaceAll(line, "\t", " "))
	start := r.Start.Column - 1
	if start < 0 || start > len(line) {
		return
	}
	end := len(line)
	if r.End.Line == r.Start.Line && r.End.Column-1 > start && r.End.Column-1 <= len(line) {
		end = r.End.Column - 1
	}
	n := utf8.RuneCountInString(line[start:end])
	if n < 1 {
		n = 1
	}
	pad := strings.Repeat(" ", len(prefix)+utf8.RuneCountInString(line[:start]))
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

// RenderDiagnosticsJSON writes {"valid": ..., "diagnostics": [...]}.
func RenderDiagnosticsJSON(w io.Writer, diags hcl.Diagnostics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"valid": !diags.HasErrors(), "error_count": countErrors(diags), "diagnostics": DiagnosticsJSON(diags)})
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
