package testworld

import (
	"strings"
	"testing"
)

// TestAddAptRepo checks that apt on the host sees every version of the
// repository and installs the one asked for.
func TestAddAptRepo(t *testing.T) {
	h := StartHost(t)
	h.AddAptRepo(t, "mlops-lock-probe", "1.0", "2.0")
	// Only the local repository: this test needs no mirror.
	h.Exec(t, "apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/mlops-test.list -o Dir::Etc::sourceparts=- >/dev/null 2>&1")
	out := h.Exec(t, "apt-cache madison mlops-lock-probe")
	if !strings.Contains(out, "1.0") || !strings.Contains(out, "2.0") {
		t.Fatalf("apt-cache madison mlops-lock-probe:\n%s", out)
	}
	h.Exec(t, "apt-get install -y mlops-lock-probe=1.0 >/dev/null")
	if got := strings.TrimSpace(h.Exec(t, "dpkg-query -W -f='${Version}' mlops-lock-probe")); got != "1.0" {
		t.Fatalf("installed %q, want 1.0", got)
	}
}
