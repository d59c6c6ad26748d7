package layers

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the golden scripts in testdata/scripts")

func aptLayer(name string, update bool, pkgs ...string) providers.Layer {
	return layer(name, "apt", layerConfig("apt", map[string]cty.Value{"update": cty.BoolVal(update), "packages": strList(pkgs...)}))
}

func dockerLayer(users ...string) providers.Layer {
	return layer("docker", "docker", layerConfig("docker", map[string]cty.Value{"users": strList(users...)}))
}

const (
	installed = "install ok installed|1.0"
	absent    = ""
)

// TestConvergeAptDocker follows the zoomcamp's root-needing layers through a
// fake host: which round trips happen in which order, what the scripts say.
func TestConvergeAptDocker(t *testing.T) {
	layers := []providers.Layer{
		aptLayer("tools", true, "git", "make"),
		dockerLayer("ubuntu"),
		aptLayer("more", false, "htop"),
	}
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{"pkg.0": installed, "pkg.1": absent}),                       // tools: before
		reply(facts{"pkg.0": installed, "pkg.1": installed}),                    // tools: after
		reply(facts{"pkg": absent, "exists.0": "1", "groups.0": "ubuntu sudo"}), // docker: before
		reply(facts{"pkg": installed, "exists.0": "1", "groups.0": "ubuntu sudo docker", "daemon": "1"}),
		reply(facts{"pkg.0": absent}),
		reply(facts{"pkg.0": installed}),
	}}
	ev := &events{}
	e := Engine{Nonce: fixedNonce}
	resp := e.Converge(context.Background(), r, ev.request(layers, nil))
	if resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Converge: %v %v", resp.Failed, resp.Diagnostics)
	}
	wantLog := []string{
		"capture", "run", "capture",
		"capture", "run", "reconnect", "capture",
		"capture", "run", "capture",
	}
	if diff := cmp.Diff(wantLog, r.log); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tools", "docker", "more"}, ev.done); diff != "" {
		t.Errorf("Done (-want +got):\n%s", diff)
	}
	if got := ev.text("tools"); got != "to do: package make not installed" {
		t.Errorf("tools output = %q", got)
	}
	apt, docker, more := r.scripts[0], r.scripts[1], r.scripts[2]
	for _, s := range r.scripts {
		if !strings.HasPrefix(s, "__mlops_main() {\nset -euo pipefail\n") || !strings.HasSuffix(s, "}\n__mlops_main </dev/null\n") || !strings.Contains(s, "sudo -n true") {
			t.Errorf("script does not start with set -euo pipefail or lacks the sudo check:\n%s", s)
		}
	}
	// cloud-init is waited for once, before the first apt-get.
	for i, s := range r.scripts {
		if got, want := strings.Contains(s, "\n__mlops_wait_cloud_init\n"), i == 0; got != want {
			t.Errorf("script %d waits for cloud-init: %v, want %v", i, got, want)
		}
	}
	for _, want := range []string{
		"\n__mlops_require_root\n__mlops_wait_cloud_init\n__mlops_apt_lists\n__mlops_apt_get update\n__mlops_apt_get install -y 'make'\n",
		"apt-get -o DPkg::Lock::Timeout=300", "DEBIAN_FRONTEND=noninteractive",
	} {
		if !strings.Contains(apt, want) {
			t.Errorf("apt script lacks %q:\n%s", want, apt)
		}
	}
	// Installed, then running (and enabled under systemd), then the group.
	if !strings.Contains(docker, "\n__mlops_apt_get install -y 'docker.io'\nif [ -d /run/systemd/system ]; then\n  __mlops_root systemctl enable --now docker\nelse\n  __mlops_root service docker start\nfi\n") ||
		!strings.Contains(docker, "\ndone\n__mlops_root groupadd -f docker\n__mlops_root usermod -aG docker 'ubuntu'\n") {
		t.Errorf("docker script:\n%s", docker)
	}
	if strings.Contains(more, "\n__mlops_apt_get update\n") {
		t.Errorf("apt with update = false runs apt-get update:\n%s", more)
	}
}

func TestConvergeAsRootUsesNoSudo(t *testing.T) {
	r := &fakeRunner{user: "root", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{"pkg.0": absent}), reply(facts{"pkg.0": installed}),
	}}
	e := Engine{Nonce: fixedNonce}
	if resp := e.Converge(context.Background(), r, (&events{}).request([]providers.Layer{aptLayer("a", false, "git")}, nil)); resp.Failed != nil {
		t.Fatal(resp.Diagnostics)
	}
	if strings.Contains(r.scripts[0], "sudo -n") {
		t.Errorf("root's script uses sudo:\n%s", r.scripts[0])
	}
}

func TestConvergeSkipsSatisfiedLayers(t *testing.T) {
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		reply(facts{"pkg.0": installed}),
		reply(facts{"pkg": installed, "exists.0": "1", "groups.0": "docker", "daemon": "1"}),
	}}
	ev := &events{}
	e := Engine{Nonce: fixedNonce}
	resp := e.Converge(context.Background(), r, ev.request([]providers.Layer{aptLayer("a", true, "git"), dockerLayer("ubuntu")}, nil))
	if resp.Failed != nil {
		t.Fatal(resp.Diagnostics)
	}
	if diff := cmp.Diff([]string{"capture", "capture"}, r.log); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "docker"}, ev.done); diff != "" {
		t.Errorf("Done (-want +got):\n%s", diff)
	}
}

func TestConvergeFailures(t *testing.T) {
	layers := []providers.Layer{dockerLayer("ubuntu"), aptLayer("after", false, "git")}
	before := reply(facts{"pkg": absent, "exists.0": "1", "groups.0": "ubuntu"})
	tests := []struct {
		name          string
		r             *fakeRunner
		summary, want string
	}{{
		name: "no passwordless sudo",
		r: &fakeRunner{user: "bob", captures: []func(string) ([]byte, []byte, int, error){before},
			runs: []func(string, func(Stream, string)) (int, error){func(_ string, out func(Stream, string)) (int, error) {
				out(Stderr, "mlops: passwordless sudo is required for user bob (sudo -n true failed)")
				return exitNoSudo, nil
			}}},
		summary: "Passwordless sudo is required for user bob",
		want:    "`bob ALL=(ALL) NOPASSWD:ALL` in /etc/sudoers.d/bob",
	}, {
		name: "exit 97 without the sudo message",
		r: &fakeRunner{user: "bob", captures: []func(string) ([]byte, []byte, int, error){before},
			runs: []func(string, func(Stream, string)) (int, error){func(_ string, out func(Stream, string)) (int, error) {
				out(Stdout, "some command's own exit status")
				return exitNoSudo, nil
			}}},
		summary: "Layer aws_instance.web.layer.docker failed",
		want:    "exited with status 97",
	}, {
		name: "connection lost",
		r: &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){before},
			runs: []func(string, func(Stream, string)) (int, error){func(string, func(Stream, string)) (int, error) {
				return 0, errors.New("ssh: connection lost")
			}}},
		summary: "Lost the connection during layer aws_instance.web.layer.docker",
		want:    "ssh: connection lost",
	}, {
		name: "apt fails",
		r: &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){before},
			runs: []func(string, func(Stream, string)) (int, error){func(_ string, out func(Stream, string)) (int, error) {
				out(Stderr, "E: Unable to locate package docker.io")
				return 100, nil
			}}},
		summary: "Layer aws_instance.web.layer.docker failed",
		want:    "The docker layer's script exited with status 100. Its last output lines:\nE: Unable to locate package docker.io",
	}, {
		name:    "reconnect fails",
		r:       &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){before}, reconn: errors.New("auth failed")},
		summary: "Cannot reconnect after layer aws_instance.web.layer.docker",
		want:    "auth failed",
	}, {
		name: "not in place afterwards",
		r: &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
			before, reply(facts{"pkg": installed, "exists.0": "1", "groups.0": "ubuntu", "daemon": "1"}),
		}},
		summary: "Layer aws_instance.web.layer.docker is not in place after it ran",
		want:    "probing the host again finds: user ubuntu not in group docker.",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &events{}
			e := Engine{Nonce: fixedNonce}
			resp := e.Converge(context.Background(), tt.r, ev.request(layers, nil))
			if resp.Failed == nil || *resp.Failed != layers[0].Addr {
				t.Fatalf("Failed = %v, want %s (%v)", resp.Failed, layers[0].Addr, resp.Diagnostics)
			}
			if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != tt.summary || !strings.Contains(resp.Diagnostics[0].Detail, tt.want) {
				t.Fatalf("diagnostics = %v, want %q with %q", resp.Diagnostics, tt.summary, tt.want)
			}
			if len(ev.done) != 0 || len(tt.r.scripts) > 1 {
				t.Errorf("went on after the failure: Done %v, %d scripts", ev.done, len(tt.r.scripts))
			}
		})
	}
}

func TestConvergeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &fakeRunner{user: "ubuntu"}
	e := Engine{Nonce: fixedNonce}
	l := aptLayer("a", false, "git")
	resp := e.Converge(ctx, r, (&events{}).request([]providers.Layer{l}, nil))
	if resp.Failed == nil || *resp.Failed != l.Addr || len(r.log) != 0 {
		t.Errorf("Converge with a cancelled context = %+v, round trips %v", resp, r.log)
	}
}

// goldenLayers has one layer of each kind with every option set.
func goldenLayers() []providers.Layer {
	return []providers.Layer{
		aptLayer("tools", true, "git", "make", "libc6=2.35-0ubuntu3.1"),
		layer("anaconda", "anaconda", layerConfig("anaconda", map[string]cty.Value{
			"installer": cty.StringVal("https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh"),
			"sha256":    cty.StringVal("a7c0afe862f6ea19a596801fc138bde0463abcbce1b753e8d5c474b506a2db2d"),
		})),
		dockerLayer("ubuntu", "alice"),
		layer("compose", "docker_compose", composeConfig("v2.5.0",
			"https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64",
			"ffa2bd8d8e1b6c5d1a4a1b3d3b4f1e1e7d9f5e6b3c2a1d0e9f8a7b6c5d4e3f2a", true)),
		layer("env", "file", fileConfig("~/.config/mlops/env", "MLFLOW_TRACKING_URI=http://localhost:5000\n", "0644")),
		layer("docker_works", "shell", shellConfig("docker info >/dev/null 2>&1", "sudo systemctl start docker")),
	}
}

// TestScriptsGolden pins the scripts sent to hosts, and checks that bash
// parses every one of them (bash -n: nothing runs). Update with -update.
func TestScriptsGolden(t *testing.T) {
	layers := goldenLayers()
	var specs []spec
	for _, l := range layers {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	files := map[string]string{
		"probe.sh":         probeScript("NONCE", specs),
		"converge-user.sh": convergeScript("ubuntu", "BODY\n"),
		"converge-root.sh": convergeScript("root", "BODY\n"),
	}
	for i, l := range layers {
		w := script{waitCloudInit: true}
		specs[i].apply(&w, facts{})
		files["apply-"+l.Addr.Name+".sh"] = w.String()
		var rm script
		if note := specs[i].remove(&rm, nil); note == "" {
			files["remove-"+l.Addr.Name+".sh"] = rm.String()
		}
	}
	dir := filepath.Join("testdata", "scripts")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, got := range files {
		path := filepath.Join(dir, name)
		full := got
		if strings.HasPrefix(name, "apply-") || strings.HasPrefix(name, "remove-") {
			full = convergeScript("ubuntu", got)
		}
		if out, err := exec.Command("bash", "-n", "-c", full).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", name, err, out)
		}
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestScriptsGolden -update)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
}

// TestProbeForksOnlyForCommands: the probe script starts a process only to
// run a command that is not a bash builtin. Facts are written by printf
// (no base64, no pipe) and a test builtin is not wrapped in $(...).
func TestProbeForksOnlyForCommands(t *testing.T) {
	var specs []spec
	for _, l := range goldenLayers() {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	for i, line := range strings.Split(probeScript("NONCE", specs), "\n") {
		for _, bad := range []string{"base64", `"$([`, "| cut", "&& echo 1)"} {
			if strings.Contains(line, bad) {
				t.Errorf("probe script line %d has %q: %s", i+1, bad, line)
			}
		}
	}
}

// TestDecodeDoesNotBuildTheKinds: decoding a layer costs less than building
// the kinds' schemas, which it once did for every layer of every probe.
func TestDecodeDoesNotBuildTheKinds(t *testing.T) {
	cfg := shellConfig("true", "true")
	if _, err := decode("shell", cfg); err != nil {
		t.Fatal(err)
	}
	build := testing.AllocsPerRun(10, func() { kinds() })
	dec := testing.AllocsPerRun(10, func() { _, _ = decode("shell", cfg) })
	if dec*4 > build {
		t.Errorf("decode allocates %.0f times, building the kinds %.0f", dec, build)
	}
}
