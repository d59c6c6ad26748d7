package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
)

const tofuConfig = `
variable "ssh_host" {}
variable "ssh_port" {}
resource "host" "lab" {
  ssh {
    host        = var.ssh_host
    port        = var.ssh_port
    user        = "ubuntu"
    private_key = "~/.ssh/razer.pem"
  }
  layer "file" {
    name        = "secret"
    destination = "~/secret.txt"
    content     = "for the planned machine only\n"
  }
}
`

// TestSavedPlanDemandsHostKeySeenAtPlan: the key a host presented at the
// plan's first contact is recorded in the saved plan; a host answering with
// another key at apply gets nothing.
func TestSavedPlanDemandsHostKeySeenAtPlan(t *testing.T) {
	h := testworld.StartHost(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, tofuConfig)
	s.must(0, "plan", "-out", "p.plan")
	planned := h.HostKey
	b, err := os.ReadFile(filepath.Join(s.dir, "p.plan"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), strings.Fields(planned)[1]) {
		t.Fatalf("the saved plan does not record the host key seen at plan")
	}

	h.Restart(t, true) // a different machine answers at the same address
	if h.HostKey == planned {
		t.Fatal("the host key did not change")
	}
	r := s.must(1, "apply", "p.plan")
	contains(t, r, "Host key changed", "seen at first contact when the plan was made")
	if out, _ := h.Shell("test -e /home/ubuntu/secret.txt && echo present"); strings.Contains(out, "present") {
		t.Fatal("the file went to a host with another key")
	}
	if b, err := os.ReadFile(s.statePath()); err == nil && strings.Contains(string(b), strings.Fields(h.HostKey)[1]) {
		t.Fatal("the new host key was pinned in the state")
	}
}

// TestHostResourceUsesKnownHosts: a host resource's key is taken from
// ~/.ssh/known_hosts when the state pins none: a wrong key there is a
// mismatch, the right one is used; strict mode refuses a host pinned
// nowhere without connecting.
func TestHostResourceUsesKnownHosts(t *testing.T) {
	h := testworld.StartHost(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, tofuConfig)
	knownHosts := filepath.Join(s.home, ".ssh", "known_hosts")
	hostName := fmt.Sprintf("[%s]:%d", h.Addr, h.Port)

	// Strict, and pinned nowhere: refused before any connection.
	before := h.Connections()
	r := s.runEnv([]string{"MLOPS_STRICT_HOST_KEYS=1"}, "plan")
	if r.code != 1 {
		t.Fatalf("strict plan of an unpinned host: %s", r)
	}
	contains(t, r, "Host key not pinned", "strict host key checking is on")
	if n := h.Connections(); n != before {
		t.Fatalf("strict mode connected %d times to an unpinned host", n-before)
	}
	// The same with the ssh block's strict_host_key.
	s.writeConfig(strings.Replace(tofuConfig, `user        = "ubuntu"`, `user        = "ubuntu"
    strict_host_key = true`, 1))
	r = s.must(1, "plan")
	contains(t, r, "Host key not pinned")

	// known_hosts names another key for the host: a mismatch naming the file.
	other := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5a2Z8Uu3h6Hk7D1k2rQq0mY9WwV3l1nZ5x8j0JY6wT"
	if err := os.WriteFile(knownHosts, []byte(hostName+" "+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = s.must(1, "plan")
	contains(t, r, "Host key changed", "known_hosts")

	// The right key (strict mode still on through the ssh block): planned and applied.
	if err := os.WriteFile(knownHosts, []byte(hostName+" "+h.HostKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.must(0, "apply", "-auto-approve")
	if got := h.Exec(t, "cat /home/ubuntu/secret.txt"); got != "for the planned machine only\n" {
		t.Fatalf("secret.txt = %q", got)
	}
}
