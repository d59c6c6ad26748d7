package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// TestUpgradePackages: a lock pins a package at 1.0 and the host's package
// lists come to offer 2.0. A plan keeps the lock and has nothing to do;
// plan -upgrade shows 1.0 -> 2.0 in the lock and on the host, in the same
// one SSH round trip as any plan, and names the download checksum it
// re-resolves; apply -upgrade installs 2.0 and records it. A host upgraded
// outside mlops moves only the lock.
func TestUpgradePackages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs apt on a sandbox host")
	}
	const pkg = "mlops-upgrade-probe"
	h := testworld.StartHosts(t, 1)[0]
	d := testworld.StartDownloads(t)
	h.AddAptRepo(t, pkg, "1.0")
	layers := fmt.Sprintf(`
  layer "apt" {
    update   = true
    packages = [%q]
  }
  layer "docker_compose" {
    version = "v2.5.0"
    url     = %q
    dir     = "~/soft"
  }`, pkg, d.URL(testworld.DownloadCompose))
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, lockConfig(layers))
	installed := func() string {
		return strings.TrimSpace(h.Exec(t, "dpkg-query -W -f='${Version}' "+pkg))
	}
	s.must(0, "apply", "-auto-approve")
	if !strings.Contains(s.lockFile(), pkg+` = "1.0"`) {
		t.Fatalf("the lock after the first apply:\n%s", s.lockFile())
	}

	// The mirror moves on, and the host's lists learn of it (an
	// unattended update, the user's own apt-get update): mlops never
	// updates them in a plan.
	h.AddAptRepo(t, pkg, "1.0", "2.0")
	h.Exec(t, "apt-get update >/dev/null 2>&1")

	sess, conns := sessions(h)(), h.Connections()
	r := timed(t, "plan", s.must(0, "plan", "-detailed-exitcode"))
	if n := since(sessions(h), sess, 1); n != 1 {
		t.Errorf("plan: %d SSH sessions, want 1", n)
	}
	contains(t, r, "No changes.")
	if strings.Contains(r.stdout, "2.0") || strings.Contains(r.stdout, "lock file") {
		t.Errorf("a plan without -upgrade mentions the new version or the lock:\n%s", r)
	}

	sess, conns = sessions(h)(), h.Connections()
	r = timed(t, "plan -upgrade", s.must(2, "plan", "-upgrade", "-detailed-exitcode"))
	if n := since(sessions(h), sess, 1); n != 1 {
		t.Errorf("plan -upgrade: %d SSH sessions, want 1 (the candidates in the same round trip as the probes)", n)
	}
	if n := since(h.Connections, conns, 1); n != 1 {
		t.Errorf("plan -upgrade: %d SSH connections, want 1", n)
	}
	containsFlat(t, r,
		"package "+pkg+" version 1.0 -> 2.0 (-upgrade)",
		"~ layer aws_instance.dev.layer.apt: "+pkg+" 1.0 -> 2.0",
		"the versions the host's package lists offer, as of its last apt-get update, lists dated ",
		"~ download "+d.URL(testworld.DownloadCompose),
		"re-resolved if a layer downloads it in this apply")
	if v := installed(); v != "1.0" {
		t.Errorf("plan -upgrade changed the host: %s %q", pkg, v)
	}

	js := s.must(2, "plan", "-upgrade", "-json", "-detailed-exitcode").stdout
	var doc struct {
		LockChanges []struct {
			Kind, Key, Action string
			Packages          []struct{ Name, Before, After string }
		} `json:"lock_changes"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("plan -upgrade -json: %v\n%s", err, js)
	}
	found := false
	for _, lc := range doc.LockChanges {
		if lc.Kind == "layer" && lc.Key == "aws_instance.dev.layer.apt" {
			found = lc.Action == "update" && len(lc.Packages) == 1 &&
				lc.Packages[0].Name == pkg && lc.Packages[0].Before == "1.0" && lc.Packages[0].After == "2.0"
		}
	}
	if !found {
		t.Errorf("plan -upgrade -json lacks the move of %s 1.0 -> 2.0 in lock_changes:\n%s", pkg, js)
	}

	r = timed(t, "apply -upgrade", s.must(0, "apply", "-upgrade", "-auto-approve"))
	if v := installed(); v != "2.0" {
		t.Errorf("apply -upgrade left %s at %q, want 2.0:\n%s", pkg, v, r)
	}
	if got := s.lockFile(); !strings.Contains(got, pkg+` = "2.0"`) {
		t.Errorf("the lock after apply -upgrade:\n%s", got)
	}
	r = s.must(0, "plan", "-upgrade", "-detailed-exitcode")
	if strings.Contains(r.stdout, "1.0 -> 2.0") {
		t.Errorf("plan -upgrade after the upgrade still moves the package:\n%s", r)
	}
	contains(t, r, "-upgrade leaves 1 locked package version unchanged")
	s.must(0, "plan", "-detailed-exitcode")

	// The host is upgraded outside mlops (unattended-upgrades): the layer
	// is in place, so only the lock moves, to what the host has.
	h.AddAptRepo(t, pkg, "2.0", "3.0")
	h.Exec(t, "apt-get update >/dev/null 2>&1 && apt-get install -y "+pkg+"=3.0 >/dev/null 2>&1")
	r = s.must(0, "plan", "-upgrade", "-detailed-exitcode")
	containsFlat(t, r, "~ layer aws_instance.dev.layer.apt: "+pkg+" 2.0 -> 3.0")
	s.must(0, "apply", "-upgrade", "-auto-approve")
	if got := s.lockFile(); !strings.Contains(got, pkg+` = "3.0"`) {
		t.Errorf("the lock after apply -upgrade on a host upgraded outside mlops:\n%s", got)
	}
}
