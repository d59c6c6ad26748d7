package views

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestStateNotices pins the confirmations of state rm, state push, state
// forget-host-key, import and force-unlock.
func TestStateNotices(t *testing.T) {
	var out bytes.Buffer
	n := NewStateNotices(&out)
	n.Removed(`aws_instance.box["alice"]`)
	n.ForgotHostKey("aws_instance.dev")
	n.Pushed("s3://bucket/stack/state.json")
	n.Imported("aws_security_group.web", "sg-0abc")
	n.Released("7f3c", "s3://bucket/stack/state.json")
	n.NotLocked()
	golden(t, filepath.Join("testdata", "operation", "state-notices.txt"), out.String())
}
