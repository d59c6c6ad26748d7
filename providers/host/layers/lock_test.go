package layers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
)

// withLock returns l with lock pins.
func withLock(l providers.Layer, pkgs, downloads map[string]string) providers.Layer {
	l.Lock = providers.LayerLock{Packages: pkgs, Downloads: downloads}
	return l
}

// TestLockedScriptsGolden pins the scripts of layers that install from the
// lock: name=version for a locked package unless the configuration pins
// one, a check that the mirror has it, and a download verified against the
// locked checksum and reported.
func TestLockedScriptsGolden(t *testing.T) {
	const url = "https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64"
	sum := strings.Repeat("0f", 32)
	cases := map[string]providers.Layer{
		"apply-locked-apt.sh": withLock(aptLayer("tools", true, "git", "make", "libc6=2.35-0ubuntu3.1"),
			map[string]string{"git": "1:2.34.1-1ubuntu1.11", "libc6": "2.35-0ubuntu3.8"}, nil),
		"apply-locked-docker.sh": withLock(dockerLayer("ubuntu"), map[string]string{"docker.io": "24.0.7-0ubuntu2~22.04.1"}, nil),
		"apply-locked-compose.sh": withLock(layer("compose", "docker_compose", composeConfig("v2.5.0", url, "", true)),
			nil, map[string]string{url: sum}),
		"apply-unlocked-compose.sh": layer("compose", "docker_compose", composeConfig("v2.5.0", url, "", true)),
	}
	dir := filepath.Join("testdata", "scripts")
	for name, l := range cases {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			t.Fatal(err)
		}
		w := script{waitCloudInit: true, lock: l.Lock, nonce: "NONCE"}
		s.apply(&w, facts{})
		got := w.String()
		if out, err := exec.Command("bash", "-n", "-c", convergeScript("ubuntu", got)).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", name, err, out)
		}
		path := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestLockedScriptsGolden -update)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
}

// TestConvergeReportsPackages: the versions come from the probe that
// confirms the layer (no extra round trip), or from the probe that finds
// it in place.
func TestConvergeReportsPackages(t *testing.T) {
	layers := []providers.Layer{aptLayer("tools", false, "git", "make"), aptLayer("more", false, "htop")}
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{"pkg.0": "install ok installed|1:2.39.2-1.1", "pkg.1": absent}),
		reply(facts{"pkg.0": "install ok installed|1:2.39.2-1.1", "pkg.1": "install ok installed|4.3-4.1"}),
		reply(facts{"pkg.0": "install ok installed|2.2.4-1"}), // already there
	}}
	ev := &events{}
	req := ev.request(layers, nil)
	got := map[string]providers.LockFacts{}
	req.Locked = func(l addrs.Layer, f providers.LockFacts) { got[l.Name] = f }
	e := Engine{Nonce: fixedNonce}
	if resp := e.Converge(context.Background(), r, req); resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics.Error())
	}
	want := map[string]providers.LockFacts{
		"tools": {Packages: map[string]string{"git": "1:2.39.2-1.1", "make": "4.3-4.1"}},
		"more":  {Packages: map[string]string{"htop": "2.2.4-1"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Locked facts (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"capture", "run", "capture", "capture"}, r.log); d != "" {
		t.Errorf("round trips (-want +got):\n%s", d)
	}
}

// TestLocalLockDownloads runs the docker_compose layer without a
// configured sha256 in real bash against the stand-in download server: the
// first install reports the checksum (and hides the record from the
// output), an install from the lock verifies it, and a changed download
// fails with both checksums.
func TestLocalLockDownloads(t *testing.T) {
	t.Parallel()
	d := testworld.StartDownloads(t)
	url := d.URL(testworld.DownloadCompose)
	sum := d.SHA256(testworld.DownloadCompose)
	l := layer("compose", "docker_compose", composeConfig("v2.5.0", url, "", false))
	converge := func(l providers.Layer) (*events, map[string]providers.LockFacts, providers.ConvergeResponse) {
		r := newLocalRunner(t)
		ev := &events{}
		req := ev.request([]providers.Layer{l}, nil)
		got := map[string]providers.LockFacts{}
		req.Locked = func(a addrs.Layer, f providers.LockFacts) { got[a.Name] = f }
		var e Engine
		return ev, got, e.Converge(context.Background(), r, req)
	}

	ev, got, resp := converge(l)
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics.Error())
	}
	if d := cmp.Diff(map[string]providers.LockFacts{"compose": {Downloads: map[string]string{url: sum}}}, got); d != "" {
		t.Errorf("Locked facts (-want +got):\n%s", d)
	}
	if strings.Contains(ev.text("compose"), "@@mlops") {
		t.Errorf("the checksum record reached the output:\n%s", ev.text("compose"))
	}

	ev, _, resp = converge(withLock(l, nil, map[string]string{url: sum}))
	if resp.Diagnostics.HasErrors() || !strings.Contains(ev.text("compose"), "sha256 verified against the lock file: "+sum) {
		t.Fatalf("install from the lock: %v\n%s", resp.Diagnostics, ev.text("compose"))
	}

	other := strings.Repeat("ab", 32)
	_, got, resp = converge(withLock(l, nil, map[string]string{url: other}))
	if !resp.Diagnostics.HasErrors() || len(got) != 0 {
		t.Fatalf("a download that differs from the lock: %v, facts %v", resp.Diagnostics, got)
	}
	msg := resp.Diagnostics[0].Detail
	for _, want := range []string{"it has sha256 " + sum, "the lock file mlops.lock.hcl records " + other, "mlops apply -upgrade"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
}
