package views

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestHelpAndNotices pins mlops -help's layout, the version line, the
// unknown-command heading, a note and the lock-release errors at exit.
func TestHelpAndNotices(t *testing.T) {
	var out bytes.Buffer
	RenderUnknown(&out, `unknown command "aply". Did you mean "apply"?`)
	RenderHelp(&out,
		[]CommandSummary{{"plan", "Show what would change"}, {"apply", "Make reality match the configuration"}},
		[]CommandSummary{{"force-unlock", "Remove a stale state lock"}, {"version", "Print the version"}})
	RenderVersion(&out, "v0.9.0")
	RenderVersion(&out, "0.9.0")
	RenderNote(&out, "\nTwo interrupts received: exiting at once.")
	RenderUnlockAtExit(&out, errors.New("AccessDenied"))
	RenderUnlockAtExit(&out, nil)
	golden(t, filepath.Join("testdata", "operation", "help.txt"), out.String())
}
