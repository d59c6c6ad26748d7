package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
)

// TestDiagnosticsCappedAndLinear: 20k syntax errors in one file used to
// take over 20 s to print (every diagnostic split the whole file again);
// now the first MaxRenderedDiagnostics are shown, the rest counted, fast.
func TestDiagnosticsCappedAndLinear(t *testing.T) {
	var src strings.Builder
	var diags hcl.Diagnostics
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&src, "x%d = = ;\n", i)
		r := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: i + 1, Column: 1}, End: hcl.Pos{Line: i + 1, Column: 3}}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unexpected argument", Subject: &r})
	}
	f := &hcl.File{Bytes: []byte(src.String())}
	var out bytes.Buffer
	start := time.Now()
	RenderDiagnostics(&out, &Streams{}, map[string]*hcl.File{"main.hcl": f}, diags)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("rendering took %v", el)
	}
	text := out.String()
	if n := strings.Count(text, "Error: "); n != MaxRenderedDiagnostics {
		t.Errorf("%d errors shown, want %d", n, MaxRenderedDiagnostics)
	}
	if want := fmt.Sprintf("... and %d more errors not shown", len(diags)-MaxRenderedDiagnostics); !strings.Contains(text, want) {
		t.Errorf("no %q in the tail:\n%s", want, text[max(0, len(text)-300):])
	}
	if !strings.Contains(text, "  1: x0 = = ;") {
		t.Errorf("no snippet of line 1:\n%s", text[:300])
	}

	var js bytes.Buffer
	if err := RenderDiagnosticsJSON(&js, diags); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ErrorCount  int   `json:"error_count"`
		Omitted     int   `json:"diagnostics_omitted"`
		Diagnostics []any `json:"diagnostics"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ErrorCount != len(diags) || len(doc.Diagnostics) != MaxJSONDiagnostics || doc.Omitted != len(diags)-MaxJSONDiagnostics {
		t.Errorf("JSON: error_count %d, %d diagnostics, %d omitted", doc.ErrorCount, len(doc.Diagnostics), doc.Omitted)
	}
}

// TestSnippetOfHugeLineClipped: a megabyte line is shown as a window
// around the subject, with the caret under it.
func TestSnippetOfHugeLineClipped(t *testing.T) {
	line := "x = \"" + strings.Repeat("a", 1<<20) + "\" + !\n"
	col := len(line) - 1 // the "!", counted from 1
	r := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 1, Column: col, Byte: col - 1}, End: hcl.Pos{Line: 1, Column: col + 1, Byte: col}}
	var out bytes.Buffer
	RenderDiagnostics(&out, &Streams{}, map[string]*hcl.File{"main.hcl": {Bytes: []byte(line)}},
		hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad", Subject: &r}})
	lines := strings.Split(out.String(), "\n")
	var snippet, caret string
	for i, l := range lines {
		if strings.HasPrefix(l, "  1: ") {
			snippet, caret = l, lines[i+1]
		}
	}
	if len(snippet) > maxSnippet+20 || !strings.HasPrefix(snippet, "  1: ...") {
		t.Fatalf("snippet of %d bytes: %.100q", len(snippet), snippet)
	}
	if i := strings.Index(caret, "^"); i < 0 || snippet[i] != '!' {
		t.Errorf("caret not under the subject:\n%s\n%s", snippet, caret)
	}
}

// TestEscapesControlCharacters: remote output, probe facts and messages
// cannot drive the terminal.
func TestEscapesControlCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext":           "plain\ttext",
		"\x1b]0;owned\x07title": `\x1b]0;owned\x07title`,
		"clear\x1b[2J\rline":    `clear\x1b[2J\x0dline`,
		"c1 \u009b31m":          `c1 \x9b31m`,
		"bad \xff utf8":         `bad \xff utf8`,
		"bidi \u202eevil":       `bidi \u202eevil`,
		"ünïcödé ok":            "ünïcödé ok",
		"two\nlines":            `two\x0alines`,
		"del\x7f":               `del\x7f`,
	} {
		if got := Printable(in, false); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Printable("a\nb\x1b", true); got != "a\nb\\x1b" {
		t.Errorf("keepNewline: %q", got)
	}

	var out bytes.Buffer
	h := NewHumanHooks(&out, &Streams{})
	h.LayerOutput(mustLayer(t), "\x1b[31mred\x1b[0m")
	RenderDiagnostics(&out, &Streams{}, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "S\x1b[2J", Detail: "remote said \x1b]52;c;aGk=\x07"}})
	if strings.ContainsRune(out.String(), 0x1b) || strings.ContainsRune(out.String(), 0x07) {
		t.Errorf("control characters reached the output: %q", out.String())
	}
}

func mustLayer(t *testing.T) addrs.Layer {
	t.Helper()
	l, err := addrs.ParseLayer("host.box.layer.x")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
