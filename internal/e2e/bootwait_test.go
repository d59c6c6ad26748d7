package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlanOnRefusingHostFailsFast: a host resource whose SSH port refuses
// is not a booting machine: plan retries for 10 s, says what it waits for
// while it does, and fails naming the reason (it used to wait 5 minutes,
// silently).
func TestPlanOnRefusingHostFailsFast(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": `
resource "host" "lab" {
  ssh {
    host        = "127.0.0.9"
    port        = 2222
    user        = "ubuntu"
    private_key = "~/.ssh/razer.pem"
  }
  layer "file" {
    name        = "f"
    destination = "~/f.txt"
    content     = "hi\n"
  }
}
`})
	os.MkdirAll(filepath.Join(s.home, ".ssh"), 0o700)
	writeTestKey(t, filepath.Join(s.home, ".ssh", "razer.pem"))
	r := s.must(1, "plan")
	if r.elapsed > 20*time.Second {
		t.Errorf("plan took %v", r.elapsed)
	}
	containsFlat(t, r, "host.lab: waiting for SSH on 127.0.0.9:2222 (attempt 1, up to 10s: the machine should be up already",
		"no SSH on 127.0.0.9:2222 within 10s", "connection refused", "The machine was not created or started by this run")
}
