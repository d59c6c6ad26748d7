package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/shellword"
	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/crypto/ssh"
)

// The tests in this file converge software layers through the built binary
// on sandbox SSH hosts (internal/testworld): OpenSSH in Debian chroots on
// 127.0.0.x, with the downloads served by a loopback stand-in server. Every
// ssh block points at a sandbox host, never at moto's public IPs.

// machineConfig is an aws_instance "dev" whose ssh block points at
// var.ssh_host:var.ssh_port with the sandbox's key (copied to
// ~/.ssh/razer.pem by layerStack). sshExtra goes into the ssh block, layers
// into the resource, extra at the top level.
func machineConfig(sshExtra, layers, extra string) string {
	return `
provider "aws" { region = "eu-west-1" }

variable "ssh_host" {}
variable "ssh_port" {}

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_instance" "dev" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.razer.name

  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host
    port        = var.ssh_port
` + sshExtra + `
  }
` + layers + `
}
` + extra
}

// layerStack is a stack whose HOME holds the sandbox key as
// ~/.ssh/razer.pem (0600) and whose ssh_host and ssh_port variables name
// addr:port (usually the sandbox host's).
func layerStack(t *testing.T, keyFile, addr string, port int, config string) *stack {
	t.Helper()
	s := newStack(t, map[string]string{"main.hcl": config})
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "razer.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "MLOPS_VAR_ssh_host="+addr, fmt.Sprintf("MLOPS_VAR_ssh_port=%d", port))
	return s
}

func (s *stack) writeConfig(config string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "main.hcl"), []byte(config), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// recorded is the part of the state file these tests check.
type recorded struct {
	Resources []struct {
		Address string `json:"address"`
		HostKey string `json:"host_key"`
		Layers  []struct {
			Name   string `json:"name"`
			Kind   string `json:"kind"`
			Digest string `json:"digest"`
		} `json:"layers"`
	} `json:"resources"`
}

func (s *stack) readState() recorded {
	s.t.Helper()
	b, err := os.ReadFile(s.statePath())
	if err != nil {
		s.t.Fatal(err)
	}
	var st recorded
	if err := json.Unmarshal(b, &st); err != nil {
		s.t.Fatalf("state: %v\n%s", err, b)
	}
	return st
}

var digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// recordedLayers returns "name:kind" of each layer recorded for addr, in
// order, and fails the test if a layer has no digest.
func (s *stack) recordedLayers(addr string) []string {
	s.t.Helper()
	var out []string
	for _, r := range s.readState().Resources {
		if r.Address != addr {
			continue
		}
		for _, l := range r.Layers {
			if !digestRe.MatchString(l.Digest) {
				s.t.Errorf("%s layer %s: digest %q is not a sha256", addr, l.Name, l.Digest)
			}
			out = append(out, l.Name+":"+l.Kind)
		}
	}
	return out
}

func (s *stack) recordedHostKey(addr string) string {
	s.t.Helper()
	for _, r := range s.readState().Resources {
		if r.Address == addr {
			return r.HostKey
		}
	}
	s.t.Fatalf("state has no %s", addr)
	return ""
}

// layerLines returns the layer lines of a human plan ("~ layer "docker" #
// user ubuntu not in group docker"), runs of spaces squeezed.
func layerLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "+" || f[0] == "~" || f[0] == "-") && f[1] == "layer" {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// logCount counts lines of the host's sshd log that contain what.
func logCount(h *testworld.Host, what string) int {
	return strings.Count(h.SSHDLog(), what)
}

// since returns how many more times count() is than before, giving sshd's
// log (written by several processes) up to ten seconds to reach want (a
// loaded machine) and a moment to show more than want.
func since(count func() int, before, want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for count()-before < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	return count() - before
}

// logins counts the SSH logins sshd accepted. (Host.Connections counts TCP
// connections, including those refused for their host key.)
func logins(h *testworld.Host) func() int {
	return func() int { return logCount(h, "Accepted publickey for ") }
}

// sessions counts the SSH sessions (command executions) sshd started: it
// logs "Starting session: command for USER ..." at LogLevel VERBOSE.
func sessions(h *testworld.Host) func() int {
	return func() int { return logCount(h, "Starting session: ") }
}

func fingerprint(t *testing.T, authorizedKey string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		t.Fatalf("host key %q: %v", authorizedKey, err)
	}
	return ssh.FingerprintSHA256(k)
}

// fileStamp identifies a file's content and modification; "" if absent.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
}

// containsFlat is contains for text that diagnostics may wrap: runs of
// white space count as one space on both sides.
func containsFlat(t *testing.T, r result, subs ...string) {
	t.Helper()
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	all := flat(r.stdout + "\n" + r.stderr)
	for _, sub := range subs {
		if !strings.Contains(all, flat(sub)) {
			t.Errorf("output lacks %q:\n%s", sub, r)
		}
	}
}

// asUbuntu runs cmd in a login shell of ubuntu inside the host.
func asUbuntu(t *testing.T, h *testworld.Host, cmd string) string {
	t.Helper()
	return strings.TrimSpace(h.Exec(t, "su - ubuntu -c "+shellQuote(cmd)))
}

var shellQuote = shellword.Quote

// timed logs how long a step took, and with MLOPS_E2E_OUTPUT=1 all of its
// output.
func timed(t *testing.T, step string, r result) result {
	t.Helper()
	t.Logf("%-40s exit %d in %v", step, r.code, r.elapsed.Round(10*time.Millisecond))
	if os.Getenv("MLOPS_E2E_OUTPUT") != "" {
		t.Logf("%s", r)
	}
	return r
}

// zoomcampLayers are the course's steps as in examples/zoomcamp, with the
// downloads from d and their checksums.
func zoomcampLayers(d *testworld.Downloads) string {
	return fmt.Sprintf(`
  layer "apt" {
    update   = true
    packages = ["git", "make"]
  }
  layer "anaconda" {
    installer = %q
    sha256    = %q
    prefix    = "~/anaconda3"
  }
  layer "docker" {
    users = ["ubuntu"]
  }
  layer "docker_compose" {
    version = "v2.5.0"
    url     = %q
    sha256  = %q
    dir     = "~/soft"
    path    = true
  }
  layer "file" {
    name        = "env"
    destination = "~/.config/mlops/env"
    content     = "MLFLOW_TRACKING_URI=http://localhost:5000\n"
  }
  layer "shell" {
    name  = "docker-works"
    check = "docker image inspect hello-world >/dev/null"
    run   = "docker run --rm hello-world"
  }
`, d.URL(testworld.DownloadAnaconda), d.SHA256(testworld.DownloadAnaconda),
		d.URL(testworld.DownloadCompose), d.SHA256(testworld.DownloadCompose))
}

// TestLayersZoomcamp converges the full zoomcamp stack once (apt installs
// docker.io: about 35 s) and chains the checks that need it: the fresh
// apply, a no-change plan and apply that cost one connection and install
// nothing, drift repaired layer by layer, and the JSON plan.
func TestLayersZoomcamp(t *testing.T) {
	if testing.Short() {
		t.Skip("installs Debian packages on a sandbox host (about a minute)")
	}
	h := testworld.StartHost(t)
	d := testworld.StartDownloads(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", zoomcampLayers(d), ""))
	dev := "aws_instance.dev"

	// A plan for a machine that does not exist yet lists its layers as new
	// and connects nowhere.
	conns := h.Connections()
	r := timed(t, "plan (fresh)", s.must(2, "plan", "-detailed-exitcode"))
	contains(t, r, `+ layer "apt"`, `+ layer "anaconda"`, `+ layer "docker"`, `+ layer "docker_compose"`,
		`+ layer "file" "env"`, `+ layer "shell" "docker-works"`, "new host", "Plan: 2 to add, 0 to change, 0 to destroy.")
	if n := since(h.Connections, conns, 0); n != 0 {
		t.Errorf("plan for a new machine made %d SSH connections", n)
	}

	// 1. Fresh apply.
	r = timed(t, "apply (fresh)", s.must(0, "apply", "-auto-approve"))
	contains(t, r, "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
	for _, l := range []string{"apt", "anaconda", "docker", "docker_compose", "env", "docker-works"} {
		contains(t, r, dev+".layer."+l+": Applying...", dev+".layer."+l+": Complete after")
	}
	contains(t, r, "Setting up make", "reconnecting so that later layers see the docker group")
	// The seed's own last step: the SSH user, in the login after the
	// docker layer, runs a container; the image comes from the test
	// world's registry, as it would from Docker Hub.
	contains(t, r, dev+".layer.docker-works: | Hello from Docker!", "Pulling from library/hello-world")
	if h.Registry.Pulls() != 1 {
		t.Errorf("hello-world pulled %d times, want 1", h.Registry.Pulls())
	}
	if got := asUbuntu(t, h, "~/anaconda3/bin/conda --version"); got != "conda 4.12.0" {
		t.Errorf("conda --version = %q", got)
	}
	// conda init ran for bash: an interactive shell has conda's base.
	if got := asUbuntu(t, h, `bash -ic 'echo "$CONDA_DEFAULT_ENV $(command -v python)"' 2>/dev/null`); got != "base /home/ubuntu/anaconda3/bin/python" {
		t.Errorf("interactive shell after conda init: %q", got)
	}
	if got := asUbuntu(t, h, "docker --version"); !strings.HasPrefix(got, "Docker version ") {
		t.Errorf("docker --version = %q", got)
	}
	if got := strings.Fields(h.Exec(t, "id -nG ubuntu")); !cmp.Equal(got, []string{"ubuntu", "docker"}) {
		t.Errorf("id -nG ubuntu = %q", got)
	}
	if got := h.Exec(t, "dpkg-query -W -f='${Package} ${Status}\\n' git make"); got != "git install ok installed\nmake install ok installed\n" {
		t.Errorf("dpkg-query git make:\n%s", got)
	}
	if got := asUbuntu(t, h, `test -x ~/soft/docker-compose && stat -c %U ~/soft/docker-compose && ~/soft/docker-compose --version`); got != "ubuntu\nDocker Compose version v2.5.0" {
		t.Errorf("~/soft/docker-compose: %q", got)
	}
	pathLine := `export PATH="$HOME/soft:$PATH" # mlops: docker_compose PATH`
	if got := asUbuntu(t, h, "grep -cxF -- "+shellQuote(pathLine)+" ~/.bashrc; grep -c docker_compose ~/.bashrc"); got != "1\n1" {
		t.Errorf("PATH line in ~/.bashrc: counts %q, want it exactly once:\n%s", got, asUbuntu(t, h, "cat ~/.bashrc"))
	}
	if got := asUbuntu(t, h, "bash -ic 'command -v docker-compose' 2>/dev/null"); got != "/home/ubuntu/soft/docker-compose" {
		t.Errorf("docker-compose in an interactive shell: %q", got)
	}
	if got := asUbuntu(t, h, "cat ~/.config/mlops/env"); got != "MLFLOW_TRACKING_URI=http://localhost:5000" {
		t.Errorf("~/.config/mlops/env = %q", got)
	}
	wantLayers := []string{"apt:apt", "anaconda:anaconda", "docker:docker", "docker_compose:docker_compose", "env:file", "docker-works:shell"}
	if diff := cmp.Diff(wantLayers, s.recordedLayers(dev)); diff != "" {
		t.Errorf("layers in state (-want +got):\n%s", diff)
	}
	if got := s.recordedHostKey(dev); got != h.HostKey {
		t.Errorf("pinned host key = %q, want %q", got, h.HostKey)
	}

	// 2. Nothing to do: one connection, one probe session, no install.
	conns, sess := h.Connections(), sessions(h)()
	r = timed(t, "plan (no changes)", s.must(0, "plan", "-detailed-exitcode"))
	contains(t, r, "No changes.")
	if n := since(h.Connections, conns, 1); n != 1 {
		t.Errorf("no-change plan: %d SSH connections, want 1", n)
	}
	if n := since(sessions(h), sess, 1); n != 1 {
		t.Errorf("no-change plan: %d SSH sessions, want 1 (all probes in one round trip)", n)
	}
	aptLog, dpkgLog := filepath.Join(h.Root, "var/log/apt/history.log"), filepath.Join(h.Root, "var/log/dpkg.log")
	aptBefore, dpkgBefore := fileStamp(aptLog), fileStamp(dpkgLog)
	if aptBefore == "" {
		t.Errorf("no apt history after the fresh apply")
	}
	hits := d.TotalHits()
	conns, sess = h.Connections(), sessions(h)()
	r = timed(t, "apply (no changes)", s.must(0, "apply", "-auto-approve"))
	contains(t, r, "No changes.")
	if strings.Contains(r.stdout, "Applying") || strings.Contains(r.stdout, "reconnecting") {
		t.Errorf("no-change apply applied something:\n%s", r)
	}
	if n := since(h.Connections, conns, 1); n != 1 {
		t.Errorf("no-change apply: %d SSH connections, want 1", n)
	}
	if n := since(sessions(h), sess, 1); n != 1 {
		t.Errorf("no-change apply: %d SSH sessions, want 1", n)
	}
	if d.TotalHits() != hits {
		t.Errorf("no-change apply downloaded %d files", d.TotalHits()-hits)
	}
	if fileStamp(aptLog) != aptBefore || fileStamp(dpkgLog) != dpkgBefore {
		t.Errorf("no-change apply ran apt: history %q -> %q, dpkg.log %q -> %q", aptBefore, fileStamp(aptLog), dpkgBefore, fileStamp(dpkgLog))
	}

	// 3. Drift behind mlops' back: exactly the layers it affects. Besides
	// docker and docker_compose that is docker-works, whose check (as in
	// examples/zoomcamp) wants the SSH user in the docker group.
	h.Exec(t, "rm /home/ubuntu/soft/docker-compose && gpasswd -d ubuntu docker >/dev/null && /etc/init.d/docker stop >/dev/null")
	r = timed(t, "plan (drift)", s.must(2, "plan", "-detailed-exitcode"))
	want := []string{
		`~ layer "docker" # docker daemon not running; user ubuntu not in group docker`,
		`~ layer "docker_compose" # ~/soft/docker-compose missing`,
		`+ layer "shell" "docker-works" # check failed (exit 1)`,
	}
	if diff := cmp.Diff(want, layerLines(r.stdout)); diff != "" {
		t.Errorf("drift plan layers (-want +got):\n%s\n%s", diff, r)
	}
	contains(t, r, "# aws_instance.dev has 3 layers to converge", "(3 satisfied layers hidden)", "Plan: 0 to add, 1 to change, 0 to destroy.")

	// 9. The same plan as JSON: layers by address, satisfied ones as no-op.
	r = timed(t, "plan -json (drift)", s.must(2, "plan", "-json", "-detailed-exitcode"))
	var jp struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Action  string `json:"action"`
			Layers  []struct {
				Address string   `json:"address"`
				Kind    string   `json:"kind"`
				Action  string   `json:"action"`
				Reasons []string `json:"reasons"`
			} `json:"layers"`
		} `json:"resource_changes"`
		Summary struct {
			Change     int  `json:"change"`
			HasChanges bool `json:"has_changes"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jp); err != nil {
		t.Fatalf("plan -json is not one JSON document: %v\n%s", err, r)
	}
	var got []string
	for _, rc := range jp.ResourceChanges {
		for _, l := range rc.Layers {
			got = append(got, fmt.Sprintf("%s %s %s %s %q", rc.Address, l.Address, l.Kind, l.Action, l.Reasons))
		}
	}
	want = []string{
		`aws_instance.dev aws_instance.dev.layer.apt apt no-op []`,
		`aws_instance.dev aws_instance.dev.layer.anaconda anaconda no-op []`,
		`aws_instance.dev aws_instance.dev.layer.docker docker update ["docker daemon not running" "user ubuntu not in group docker"]`,
		`aws_instance.dev aws_instance.dev.layer.docker_compose docker_compose update ["~/soft/docker-compose missing"]`,
		`aws_instance.dev aws_instance.dev.layer.env file no-op []`,
		`aws_instance.dev aws_instance.dev.layer.docker-works shell create ["check failed (exit 1)"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan -json layers (-want +got):\n%s", diff)
	}
	if jp.Summary.Change != 1 || !jp.Summary.HasChanges {
		t.Errorf("plan -json summary = %+v", jp.Summary)
	}

	// The apply repairs those and nothing else; docker-works, in the login
	// after the docker layer's reconnect, finds the group again.
	composeHits, condaHits := d.Hits(testworld.DownloadCompose), d.Hits(testworld.DownloadAnaconda)
	r = timed(t, "apply (drift)", s.must(0, "apply", "-auto-approve"))
	contains(t, r, dev+".layer.docker: Applying...", dev+".layer.docker_compose: Applying...", dev+".layer.docker-works: Applying...",
		"added ubuntu to group docker", "reconnecting so that later layers see the docker group", dev+".layer.docker-works: | already in place", "installed ~/soft/docker-compose", "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	for _, l := range []string{"apt", "anaconda", "env"} {
		if strings.Contains(r.stdout, dev+".layer."+l+": Applying") {
			t.Errorf("drift apply applied layer %s", l)
		}
	}
	if d.Hits(testworld.DownloadCompose) != composeHits+1 || d.Hits(testworld.DownloadAnaconda) != condaHits {
		t.Errorf("drift apply downloads: compose %d -> %d, anaconda %d -> %d", composeHits, d.Hits(testworld.DownloadCompose), condaHits, d.Hits(testworld.DownloadAnaconda))
	}
	if fileStamp(aptLog) != aptBefore {
		t.Errorf("drift apply ran apt although docker.io is installed")
	}
	if got := strings.Fields(h.Exec(t, "id -nG ubuntu")); !cmp.Equal(got, []string{"ubuntu", "docker"}) {
		t.Errorf("after repair: id -nG ubuntu = %q", got)
	}
	if got := asUbuntu(t, h, "~/soft/docker-compose --version; grep -c docker_compose ~/.bashrc"); got != "Docker Compose version v2.5.0\n1" {
		t.Errorf("after repair: %q", got)
	}
	if got := asUbuntu(t, h, "docker run --rm hello-world"); !strings.Contains(got, "Hello from Docker!") {
		t.Errorf("after repair: docker run --rm hello-world as ubuntu: %q", got)
	}
	r = timed(t, "plan (repaired)", s.must(0, "plan", "-detailed-exitcode"))
	contains(t, r, "No changes.")
}

// cheapLayers are quick layers (files, a shell step, a compose download)
// for the tests that need no apt.
const cheapLayers = `
  layer "file" {
    name        = "motd"
    destination = "~/notes/motd"
    content     = "one\n"
  }
  layer "file" {
    name        = "keep"
    destination = "~/notes/keep"
    content     = "kept\n"
    mode        = "0600"
  }
  layer "shell" {
    name  = "marker"
    check = "test -f ~/marker"
    run   = "date >~/marker"
  }
`

// TestLayersEditAndRemove: a changed layer is an update of that layer only;
// layers taken out of the configuration are removed as docs/language.md
// says (a file layer's file deleted, docker_compose's binary and PATH line
// removed, a shell layer left in place, saying so), in the human and the
// JSON plan.
func TestLayersEditAndRemove(t *testing.T) {
	h := testworld.StartHost(t)
	d := testworld.StartDownloads(t)
	compose := fmt.Sprintf(`
  layer "docker_compose" {
    version = "v2.5.0"
    url     = %q
    sha256  = %q
  }
`, d.URL(testworld.DownloadCompose), d.SHA256(testworld.DownloadCompose))
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", cheapLayers+compose, ""))
	timed(t, "apply (fresh)", s.must(0, "apply", "-auto-approve"))
	if got := asUbuntu(t, h, "cat ~/notes/motd; stat -c %a ~/notes/keep; cat ~/notes/keep; grep -c 'mlops: docker_compose PATH' ~/.bashrc"); got != "one\n600\nkept\n1" {
		t.Fatalf("after apply: %q", got)
	}
	marker := asUbuntu(t, h, "cat ~/marker")

	// Edited content: ~ for that layer only.
	edited := strings.Replace(cheapLayers, `content     = "one\n"`, `content     = "two\n"`, 1)
	s.writeConfig(machineConfig("", edited+compose, ""))
	r := timed(t, "plan (edited)", s.must(2, "plan", "-detailed-exitcode"))
	if diff := cmp.Diff([]string{`~ layer "file" "motd" # content differs`}, layerLines(r.stdout)); diff != "" {
		t.Errorf("plan after editing motd (-want +got):\n%s\n%s", diff, r)
	}
	contains(t, r, "(3 satisfied layers hidden)", "Plan: 0 to add, 1 to change, 0 to destroy.")
	r = timed(t, "apply (edited)", s.must(0, "apply", "-auto-approve"))
	contains(t, r, "aws_instance.dev.layer.motd: Applying...", "wrote ~/notes/motd (4 bytes, mode 0644)")
	for _, l := range []string{"keep", "marker", "docker_compose"} {
		if strings.Contains(r.stdout, "aws_instance.dev.layer."+l+": Applying") {
			t.Errorf("edit apply applied %s:\n%s", l, r)
		}
	}
	if got := asUbuntu(t, h, "cat ~/notes/motd; cat ~/marker"); got != "two\n"+marker {
		t.Errorf("after the edit: %q", got)
	}

	// Removed from the configuration: all but motd.
	onlyMotd := edited[:strings.Index(edited, `  layer "file" {
    name        = "keep"`)]
	s.writeConfig(machineConfig("", onlyMotd, ""))
	r = timed(t, "plan (removed)", s.must(2, "plan", "-detailed-exitcode"))
	want := []string{
		`- layer "file" "keep" # it is no longer in the configuration`,
		`- layer "shell" "marker" # it is no longer in the configuration`,
		`- layer "docker_compose" # it is no longer in the configuration`,
	}
	if diff := cmp.Diff(want, layerLines(r.stdout)); diff != "" {
		t.Errorf("plan after removing layers (-want +got):\n%s\n%s", diff, r)
	}
	r = timed(t, "plan -json (removed)", s.must(0, "plan", "-json"))
	var jp struct {
		ResourceChanges []struct {
			Layers []struct{ Address, Action string } `json:"layers"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jp); err != nil {
		t.Fatalf("plan -json: %v\n%s", err, r)
	}
	var got []string
	for _, rc := range jp.ResourceChanges {
		for _, l := range rc.Layers {
			got = append(got, l.Address+" "+l.Action)
		}
	}
	want = []string{
		"aws_instance.dev.layer.motd no-op",
		"aws_instance.dev.layer.keep delete",
		"aws_instance.dev.layer.marker delete",
		"aws_instance.dev.layer.docker_compose delete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan -json layers (-want +got):\n%s", diff)
	}
	r = timed(t, "apply (removed)", s.must(0, "apply", "-auto-approve"))
	contains(t, r, "aws_instance.dev.layer.keep: Removing...", "removed ~/notes/keep",
		"aws_instance.dev.layer.marker: | left in place: mlops cannot undo a shell layer",
		"removed ~/soft/docker-compose", "removed the old PATH line from ~/.bashrc",
		"Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	if got := asUbuntu(t, h, "ls ~/notes; cat ~/marker; ls ~/soft; grep -c 'docker_compose' ~/.bashrc || true"); got != "motd\n"+marker+"\n0" {
		t.Errorf("after removing layers: %q, want the motd, the marker, no docker-compose and no PATH line", got)
	}
	if diff := cmp.Diff([]string{"motd:file"}, s.recordedLayers("aws_instance.dev")); diff != "" {
		t.Errorf("layers in state (-want +got):\n%s", diff)
	}
	timed(t, "plan (converged)", s.must(0, "plan", "-detailed-exitcode"))
}

// TestLayersSettingsChangeReapplies: docs/language.md says the digest in
// state makes an edited layer show up as ~ "even when the probe cannot see
// the difference". Apply must then run it with its new settings.
func TestLayersSettingsChangeReapplies(t *testing.T) {
	h := testworld.StartHost(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", cheapLayers, ""))
	timed(t, "apply (fresh)", s.must(0, "apply", "-auto-approve"))
	s.writeConfig(machineConfig("", strings.Replace(cheapLayers, `run   = "date >~/marker"`, `run   = "echo v2 >~/marker"`, 1), ""))
	r := timed(t, "plan (run edited)", s.must(2, "plan", "-detailed-exitcode"))
	if diff := cmp.Diff([]string{`~ layer "shell" "marker" # its settings changed since it was applied`}, layerLines(r.stdout)); diff != "" {
		t.Errorf("plan after editing run (-want +got):\n%s\n%s", diff, r)
	}
	timed(t, "apply (run edited)", s.must(0, "apply", "-auto-approve"))
	if got := asUbuntu(t, h, "cat ~/marker"); got != "v2" {
		t.Errorf("~/marker = %q after apply: the edited run did not run", got)
	}
}

// TestLayersFailureStopsHost: a failing layer stops its host's later layers
// and is reported with its exit code and last output lines; the layers
// before it are recorded; another host in the same apply still converges.
func TestLayersFailureStopsHost(t *testing.T) {
	hosts := testworld.StartHosts(t, 2)
	dev, lab := hosts[0], hosts[1]
	d := testworld.StartDownloads(t)
	layers := `
  layer "file" {
    name        = "before"
    destination = "~/before.txt"
    content     = "before\n"
  }
  layer "shell" {
    name  = "boom"
    check = "false"
    run   = "echo preparing; echo 'disk on fire' >&2; exit 7"
  }
  layer "file" {
    name        = "after"
    destination = "~/after.txt"
    content     = "after\n"
  }
`
	labHost := fmt.Sprintf(`
resource "host" "lab" {
  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = %q
    port        = %d
  }
  layer "file" {
    destination = "~/lab.txt"
    content     = "lab\n"
  }
  # Still running when dev's layer fails.
  layer "shell" {
    name  = "slow"
    check = "test -f ~/slow-done"
    run   = "sleep 2; touch ~/slow-done"
  }
  layer "docker_compose" {
    version = "v2.5.0"
    url     = %q
    sha256  = %q
  }
}
`, lab.Addr, lab.Port, d.URL(testworld.DownloadCompose), d.SHA256(testworld.DownloadCompose))
	s := layerStack(t, dev.KeyFile, dev.Addr, dev.Port, machineConfig("", layers, labHost))

	r := timed(t, "apply (failing layer)", s.must(1, "apply", "-auto-approve"))
	containsFlat(t, r, "aws_instance.dev.layer.before: Complete", "aws_instance.dev.layer.boom: Failed",
		"Layer aws_instance.dev.layer.boom failed", "exited with status 7", "preparing", "disk on fire",
		"Not run because of this failure: aws_instance.dev.layer.after",
		"host.lab.layer.file: Complete", "host.lab.layer.slow: Complete", "host.lab.layer.docker_compose: Complete")
	// The other host went on after the failure.
	if failed, slow := strings.Index(r.stdout, "aws_instance.dev.layer.boom: Failed"), strings.Index(r.stdout, "host.lab.layer.slow: Complete"); failed < 0 || slow < failed {
		t.Errorf("host.lab's slow layer did not finish after aws_instance.dev failed:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "aws_instance.dev.layer.after: Applying") {
		t.Errorf("the layer after the failure was applied:\n%s", r)
	}
	if _, err := dev.Shell("test -e /home/ubuntu/after.txt"); err == nil {
		t.Errorf("~/after.txt exists: the layer after the failure ran")
	}
	if got := asUbuntu(t, dev, "cat ~/before.txt"); got != "before" {
		t.Errorf("~/before.txt = %q", got)
	}
	if diff := cmp.Diff([]string{"before:file"}, s.recordedLayers("aws_instance.dev")); diff != "" {
		t.Errorf("dev layers in state (-want +got):\n%s", diff)
	}
	if got := asUbuntu(t, lab, "cat ~/lab.txt; ~/soft/docker-compose --version"); got != "lab\nDocker Compose version v2.5.0" {
		t.Errorf("lab host: %q", got)
	}
	if diff := cmp.Diff([]string{"file:file", "slow:shell", "docker_compose:docker_compose"}, s.recordedLayers("host.lab")); diff != "" {
		t.Errorf("lab layers in state (-want +got):\n%s", diff)
	}
	if got := s.recordedHostKey("host.lab"); got != lab.HostKey {
		t.Errorf("lab host key = %q, want %q", got, lab.HostKey)
	}

	// What is left: the failed layer and the one after it, nothing on lab.
	r = timed(t, "plan (after failure)", s.must(2, "plan", "-detailed-exitcode"))
	want := []string{`+ layer "shell" "boom" # check failed (exit 1)`, `+ layer "file" "after" # ~/after.txt missing`}
	if diff := cmp.Diff(want, layerLines(r.stdout)); diff != "" {
		t.Errorf("plan after the failure (-want +got):\n%s\n%s", diff, r)
	}
}

// TestLayersHostKeyChanged: a host that presents another key than the one
// pinned in state is refused, naming both fingerprints, and nothing changes.
func TestLayersHostKeyChanged(t *testing.T) {
	h := testworld.StartHost(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", cheapLayers, ""))
	timed(t, "apply (fresh)", s.must(0, "apply", "-auto-approve"))
	oldKey := h.HostKey
	if got := s.recordedHostKey("aws_instance.dev"); got != oldKey {
		t.Fatalf("pinned host key = %q, want %q", got, oldKey)
	}
	h.Restart(t, true)
	if h.HostKey == oldKey {
		t.Fatal("Restart(newHostKey) kept the host key")
	}
	stateBefore, _ := os.ReadFile(s.statePath())
	before := logins(h)()

	r := timed(t, "plan (host key changed)", s.must(1, "plan"))
	containsFlat(t, r, "Host key changed", fingerprint(t, oldKey), fingerprint(t, h.HostKey), h.HostPort())

	// An apply with a changed layer is refused the same way, before it
	// changes anything.
	s.writeConfig(machineConfig("", strings.Replace(cheapLayers, `"one\n"`, `"two\n"`, 1), ""))
	r = timed(t, "apply (host key changed)", s.must(1, "apply", "-auto-approve"))
	containsFlat(t, r, "Host key changed", fingerprint(t, oldKey), fingerprint(t, h.HostKey))
	if got := asUbuntu(t, h, "cat ~/notes/motd"); got != "one" {
		t.Errorf("~/notes/motd = %q after a refused apply", got)
	}
	if stateAfter, _ := os.ReadFile(s.statePath()); string(stateAfter) != string(stateBefore) {
		t.Errorf("the state changed:\n%s\n->\n%s", stateBefore, stateAfter)
	}
	if n := since(logins(h), before, 0); n != 0 {
		t.Errorf("%d logins to a host with a changed key", n)
	}

	// The way out the message names: forget the key, and the next contact
	// pins the new one.
	containsFlat(t, r, "mlops state forget-host-key")
	s.must(0, "state", "forget-host-key", "aws_instance.dev")
	timed(t, "apply (key forgotten)", s.must(0, "apply", "-auto-approve"))
	if got := asUbuntu(t, h, "cat ~/notes/motd"); got != "two" {
		t.Errorf("~/notes/motd = %q after the key was forgotten and applied", got)
	}
	if stateAfter, _ := os.ReadFile(s.statePath()); !strings.Contains(string(stateAfter), strings.Fields(h.HostKey)[1]) {
		t.Errorf("the new host key was not pinned")
	}
}

// TestLayersUnreachableHost: nothing listens at the ssh address; with
// timeout = "3s" apply and plan give up after about three seconds, saying so.
func TestLayersUnreachableHost(t *testing.T) {
	const addr = "127.0.0.9"
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	key := filepath.Join(t.TempDir(), "id_ed25519")
	writeTestKey(t, key)
	s := layerStack(t, key, addr, port, machineConfig(`    timeout     = "3s"`, cheapLayers, ""))

	want := []string{"Timed out waiting for SSH", fmt.Sprintf("timed out after 3s waiting for SSH on %s:%d", addr, port), "connection refused"}
	// The bounds leave room for a loaded machine; the default timeout, 5
	// minutes, is far off.
	r := timed(t, "apply (unreachable)", s.must(1, "apply", "-auto-approve"))
	containsFlat(t, r, want...)
	if r.elapsed < 3*time.Second || r.elapsed > 30*time.Second {
		t.Errorf("apply took %v to give up on an SSH timeout of 3s", r.elapsed)
	}
	// The instance exists now, so plan probes it, and gives up after a
	// short retry: it was not created or started by this run.
	r = timed(t, "plan (unreachable)", s.must(1, "plan"))
	containsFlat(t, r, "Timed out waiting for SSH", fmt.Sprintf("no SSH on %s:%d within 3s", addr, port), "connection refused",
		"The machine was not created or started by this run")
	if r.elapsed < 3*time.Second || r.elapsed > 30*time.Second {
		t.Errorf("plan took %v to give up on an SSH timeout of 3s", r.elapsed)
	}
}

// writeTestKey writes an unused ed25519 private key (0600).
func writeTestKey(t *testing.T, path string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "unused")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLayersHostileValue: a value that could not be meant literally is
// refused by validate, plan and apply with its file and line, before any
// SSH connection, and the host is untouched.
func TestLayersHostileValue(t *testing.T) {
	h := testworld.StartHost(t)
	d := testworld.StartDownloads(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", cheapLayers, ""))
	timed(t, "apply (fresh)", s.must(0, "apply", "-auto-approve"))

	hostile := machineConfig("", cheapLayers+fmt.Sprintf(`
  layer "docker_compose" {
    version = "v2; rm -rf ~"
    url     = %q
  }
`, d.URL(testworld.DownloadCompose)), "")
	line := 0
	for i, l := range strings.Split(hostile, "\n") {
		if strings.Contains(l, `"v2; rm -rf ~"`) {
			line = i + 1
		}
	}
	s.writeConfig(hostile)
	stateBefore, _ := os.ReadFile(s.statePath())
	conns, hits := h.Connections(), d.TotalHits()
	for _, args := range [][]string{{"validate"}, {"plan"}, {"apply", "-auto-approve"}} {
		r := timed(t, strings.Join(args, " ")+" (hostile)", s.must(1, args...))
		containsFlat(t, r, fmt.Sprintf("main.hcl:%d", line), `"v2; rm -rf ~" is not a version`)
	}
	if n := since(h.Connections, conns, 0); n != 0 {
		t.Errorf("%d SSH connections with a hostile value in the configuration", n)
	}
	if d.TotalHits() != hits {
		t.Errorf("the download server was asked %d times", d.TotalHits()-hits)
	}
	if stateAfter, _ := os.ReadFile(s.statePath()); string(stateAfter) != string(stateBefore) {
		t.Errorf("the state changed")
	}
	if got := asUbuntu(t, h, "ls ~/notes"); got != "keep\nmotd" {
		t.Errorf("~/notes = %q", got)
	}
}
