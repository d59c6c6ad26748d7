package views

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestSmallCommandViews pins fmt's file list and diff, validate's verdict
// (with and without colour), state pull's JSON, and the argument errors.
func TestSmallCommandViews(t *testing.T) {
	var out bytes.Buffer
	RenderFormatted(&out, "main.hcl", "")
	RenderFormatted(&out, "vars.hcl", "--- a/vars.hcl\n+++ b/vars.hcl\n@@ -1,3 +1,3 @@\n locals {\n-a=1\n+  a = 1\n }\n")
	RenderValid(&Streams{Out: &out})
	RenderValid(&Streams{Out: &out, Color: true})
	RenderStateJSON(&out, []byte(`{"version": 4}`))
	RenderUsageError(&out, "", "\nUsage: mlops state <subcommand>\n")
	RenderUsageError(&out, `unknown state subcommand "mv"`, "\nUsage: mlops state <subcommand>\n")
	RenderArgError(&out, "state push takes one FILE")
	golden(t, filepath.Join("testdata", "operation", "commands.txt"), out.String())
}
