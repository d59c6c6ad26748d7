package views

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// TestSSHAliasesView pins how the ssh alias report reads as text (warnings
// on stderr, changes on stdout after a blank line) and as JSON events.
func TestSSHAliasesView(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) }
	lines := []AliasLine{
		{"info", "ssh alias zoomcamp -> 127.0.0.1:2222 added in ~/.ssh/mlops_config (ssh zoomcamp)"},
		{"warn", "ssh alias gpu belongs to another stack (state lineage abc) in ~/.ssh/mlops_config; it was not changed. Choose another alias, or destroy that stack first."},
		{"info", `added "Include mlops_config" at the top of ~/.ssh/config`},
	}
	for _, jsonOut := range []bool{false, true} {
		name := "aliases.txt"
		if jsonOut {
			name = "aliases.json"
		}
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			s := &Streams{Out: &out, Err: &errb}
			var events *JSONHooks
			if jsonOut {
				events = NewJSONHooks(&out, now)
			}
			v := NewSSHAliases(s, events)
			v.Warnings([]string{"ssh alias a is set on both aws_instance.x and aws_instance.y; it stays with aws_instance.x"})
			v.Changes(lines)
			v.Changes(nil) // nothing changed: not even a blank line
			golden(t, filepath.Join("testdata", "operation", name), "--- stdout\n"+out.String()+"--- stderr\n"+errb.String())
		})
	}
}
