package config

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// errorf builds an error diagnostic; subject may be nil for problems that do
// not come from a file (command-line values).
func errorf(subject *hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  subject,
	}
}

// didYouMean returns ` Did you mean "x"?` when one of the options is close
// to given (the same rule hcl uses), or "".
func didYouMean(given string, options []string) string {
	for _, o := range options {
		if levenshtein.Distance(given, o, nil) < 3 {
			return fmt.Sprintf(" Did you mean %q?", o)
		}
	}
	return ""
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rangeString renders a range as file:line:col for diagnostic details.
func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

// conversionError renders a cty conversion error, with the path to the
// offending element when there is one.
func conversionError(err error) string {
	msg := strings.TrimRight(err.Error(), ". \n")
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("%s: %s", formatPath(pe.Path), msg)
	}
	return msg
}

// formatPath renders a cty path for messages: tags["Name"], ingress[0].port.
func formatPath(p cty.Path) string {
	if s := addrs.PathString(p); s != "" {
		return s
	}
	return "value"
}

// bigText renders a number for messages. Huge exponents are not spelled
// out: big.Float takes seconds to print 1e999999.
func bigText(f *big.Float) string {
	if exp := f.MantExp(nil); exp > 64 || exp < -64 {
		return "a number of magnitude 2^" + strconv.Itoa(exp)
	}
	return f.Text('g', 10)
}

// finishDiagnostics orders diagnostics by source position (those without a
// position first, in the order found) and drops exact repeats, so that
// output is stable and every problem is said once.
func finishDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		subject         hcl.Range
	}
	seen := map[key]bool{}
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		k := key{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.subject = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		default:
			return a.Start.Column < b.Start.Column
		}
	})
	if len(out) == 0 {
		return nil
	}
	return out
}
