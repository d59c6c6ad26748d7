package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// An existing machine (resource "host") is probed in its first plan: what
// is already there is not planned again.
func TestExistingHostProbedAtFirstPlan(t *testing.T) {
	h := testworld.StartHost(t)
	h.Exec(t, `printf 'hello\n' >/home/ubuntu/already.txt && chown ubuntu: /home/ubuntu/already.txt && chmod 0644 /home/ubuntu/already.txt`)
	cfg := `
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
    name        = "already"
    destination = "~/already.txt"
    content     = "hello\n"
  }
  layer "file" {
    name        = "missing"
    destination = "~/missing.txt"
    content     = "new\n"
  }
}
`
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, cfg)
	r := s.must(2, "plan", "-detailed-exitcode")
	if d := cmp.Diff([]string{`+ layer "file" "missing" # ~/missing.txt missing`}, layerLines(r.stdout)); d != "" && !strings.Contains(r.stdout, `+ layer "file" "missing"`) {
		t.Errorf("first plan of an existing host (-want +got):\n%s\n%s", d, r)
	}
	if strings.Contains(r.stdout, `layer "file" "already"`) {
		t.Errorf("a layer already satisfied on the existing host is planned:\n%s", r)
	}
	contains(t, r, "1 satisfied layer hidden")
	s.must(0, "apply", "-auto-approve")
	if got := h.Exec(t, "cat /home/ubuntu/missing.txt"); got != "new\n" {
		t.Errorf("missing.txt = %q", got)
	}
	s.must(0, "plan", "-detailed-exitcode")
}
