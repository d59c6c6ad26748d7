package layers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
)

// policyOutput is what `LC_ALL=C apt-cache policy jq` prints on a host
// whose lists offer a newer jq than the one installed.
const policyOutput = `jq:
  Installed: 1.6-2.1
  Candidate: 1.7.1-3
  Version table:
     1.7.1-3 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
 *** 1.6-2.1 100
        100 /var/lib/dpkg/status
`

func TestParseCandidate(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"newer", policyOutput, "1.7.1-3"},
		{"none", "jq:\n  Installed: 1.6-2.1\n  Candidate: (none)\n  Version table:\n", ""},
		// apt-cache policy prints nothing for a package no list names.
		{"unknown package", "", ""},
		{"epoch", "docker.io:\n  Installed: (none)\n  Candidate: 1:20.10.24+dfsg1-1+b3\n", "1:20.10.24+dfsg1-1+b3"},
		// Only apt's own line counts, not one indented otherwise.
		{"not apt's line", "x:\n     Candidate: 9 500\n", ""},
	} {
		if got := parseCandidate(c.in); got != c.want {
			t.Errorf("%s: parseCandidate = %q, want %q", c.name, got, c.want)
		}
	}
}

// upgrading marks layers as planned with -upgrade.
func upgrading(layers ...providers.Layer) []providers.Layer {
	out := make([]providers.Layer, len(layers))
	for i, l := range layers {
		l.Lock.Upgrade = true
		out[i] = l
	}
	return out
}

// TestUpgradeProbeScript: without -upgrade the probe script is exactly the
// one pinned in testdata/scripts/probe.sh; with it, the layers that install
// packages also ask apt for the candidates of the packages the
// configuration does not pin, in the same script. Update with -update.
func TestUpgradeProbeScript(t *testing.T) {
	layers := goldenLayers()
	specs := make([]spec, len(layers))
	for i, l := range layers {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			t.Fatal(err)
		}
		specs[i] = s
	}
	if got, want := probeScript("NONCE", withCandidates(layers, specs)), probeScript("NONCE", specs); got != want {
		t.Errorf("the probe script without -upgrade changed:\n%s", cmp.Diff(want, got))
	}
	got := probeScript("NONCE", withCandidates(upgrading(layers...), specs))
	if out, err := exec.Command("bash", "-n", "-c", got).CombinedOutput(); err != nil {
		t.Errorf("the -upgrade probe script does not parse: %v\n%s", err, out)
	}
	for _, want := range []string{
		`__mlops_fact candidate.0 "$(LC_ALL=C apt-cache policy 'git' 2>/dev/null)"`,
		`__mlops_fact candidate.1 "$(LC_ALL=C apt-cache policy 'make' 2>/dev/null)"`,
		`__mlops_fact candidate.0 "$(LC_ALL=C apt-cache policy 'docker.io' 2>/dev/null)"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the -upgrade probe script lacks %s", want)
		}
	}
	if strings.Contains(got, "libc6") && strings.Contains(got, "apt-cache policy 'libc6'") {
		t.Error("the -upgrade probe asks for the candidate of libc6, which the configuration pins")
	}
	if strings.Contains(got, "apt-get") {
		t.Error("the -upgrade probe script runs apt-get; it must not change the host")
	}
	path := filepath.Join("testdata", "scripts", "probe-upgrade.sh")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestUpgradeProbeScript -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestProbeUpgrade: with -upgrade, one probe round trip reports the
// candidates; a package installed at another version makes the layer out of
// date, one at the candidate or one the lists do not offer does not.
func TestProbeUpgrade(t *testing.T) {
	layers := upgrading(aptLayer("tools", false, "jq", "make", "git=1:2.39"), dockerLayer("ubuntu"))
	lists := "1764490000"
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{
			"pkg.0": "install ok installed|1.6-2.1", "candidate.0": policyOutput,
			"pkg.1": "install ok installed|4.3-4.1", "candidate.1": "make:\n  Installed: 4.3-4.1\n  Candidate: 4.3-4.1\n",
			"pkg.2": "install ok installed|1:2.39", "lists": lists,
		}, facts{
			"pkg": "install ok installed|20.10.24", "candidate.0": "docker.io:\n  Candidate: (none)\n",
			"exists.0": "1", "groups.0": "ubuntu docker", "daemon": "1", "lists": lists,
		}),
	}}
	resp := (&Engine{Nonce: fixedNonce}).Probe(context.Background(), r, providers.ProbeRequest{Layers: layers})
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics)
	}
	if diff := cmp.Diff([]string{"capture"}, r.log); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	date := time.Unix(1764490000, 0).UTC()
	want := []providers.LayerStatus{{
		Addr: layers[0].Addr, Present: true,
		Reasons: []string{"package jq version 1.6-2.1 -> 1.7.1-3 (-upgrade)"},
		Upgrade: &providers.UpgradeFacts{
			Candidates: map[string]string{"jq": "1.7.1-3", "make": "4.3-4.1"},
			Installed:  map[string]string{"jq": "1.6-2.1", "make": "4.3-4.1"},
			ListsDate:  date,
		},
	}, {
		Addr: layers[1].Addr, Satisfied: true, Present: true,
		Lock: providers.LockFacts{Packages: map[string]string{"docker.io": "20.10.24"}},
		Upgrade: &providers.UpgradeFacts{
			Candidates: map[string]string{"docker.io": ""},
			Installed:  map[string]string{"docker.io": "20.10.24"},
			ListsDate:  date,
		},
	}}
	if diff := cmp.Diff(want, resp.Statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestConvergeUpgrade: apply -upgrade installs the candidate the host's
// lists offer, pinned to the version its probe saw, and reports what is
// installed after it for the lock file.
func TestConvergeUpgrade(t *testing.T) {
	layers := upgrading(aptLayer("tools", false, "jq"))
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{"pkg.0": "install ok installed|1.6-2.1", "candidate.0": policyOutput}),
		reply(facts{"pkg.0": "install ok installed|1.7.1-3", "candidate.0": "jq:\n  Candidate: 1.7.1-3\n"}),
	}}
	ev := &events{}
	req := ev.request(layers, nil)
	var locked providers.LockFacts
	req.Locked = func(_ addrs.Layer, f providers.LockFacts) { locked = f }
	resp := (&Engine{Nonce: fixedNonce}).Converge(context.Background(), r, req)
	if resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Converge: %v %v", resp.Failed, resp.Diagnostics)
	}
	if diff := cmp.Diff([]string{"capture", "run", "capture"}, r.log); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	if len(r.scripts) != 1 || !strings.Contains(r.scripts[0], "__mlops_apt_get install -y 'jq=1.7.1-3'\n") {
		t.Errorf("the upgrade script does not install jq=1.7.1-3:\n%s", r.scripts)
	}
	if !strings.Contains(ev.text("tools"), "to do: package jq version 1.6-2.1 -> 1.7.1-3 (-upgrade)") {
		t.Errorf("output: %s", ev.text("tools"))
	}
	if diff := cmp.Diff(map[string]string{"jq": "1.7.1-3"}, locked.Packages); diff != "" {
		t.Errorf("locked (-want +got):\n%s", diff)
	}
}
