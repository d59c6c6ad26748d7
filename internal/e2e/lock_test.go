package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file check mlops.lock.hcl end to end: the image, the
// package versions and the download checksums an apply resolved are what
// later plans and new machines use.

const (
	// lockedAMI is the newest image of internal/testworld/testdata/amis.json
	// that the stacks below match: with moto's own account among the
	// owners, its 2025 jammy image.
	lockedAMI     = "ami-0d4e5f60718293a41"
	lockedAMIDate = "2025-01-01T00:00:00.000Z"
	lockedAMIName = jammy + "20250101"
	jammy         = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-"
)

// lockConfig is machineConfig whose image owners include moto's own account,
// which owns the images a test registers (testworld.RegisterImage) as a
// publisher releasing a newer build.
func lockConfig(layers string) string {
	return strings.Replace(machineConfig("", layers, ""), `owners = ["099720109477"]`,
		`owners = ["099720109477", "`+testworld.MotoAccountID+`"]`, 1)
}

func (s *stack) lockFile() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "mlops.lock.hcl"))
	if err != nil {
		s.t.Fatalf("reading the lock file: %v", err)
	}
	return string(b)
}

func (s *stack) writeLockFile(content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "mlops.lock.hcl"), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// apiCalls runs mlops through a proxy to moto and returns the API actions
// it called, sorted.
func (s *stack) apiCalls(args ...string) (result, []string) {
	s.t.Helper()
	p := testworld.StartFaultProxy(s.t, s.moto.Endpoint())
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, args...)
	var actions []string
	for _, x := range p.Log() {
		actions = append(actions, x.Action)
	}
	sort.Strings(actions) // the refresh reads in parallel
	return r, actions
}

// TestLockImage: after an apply, a newer image that matches the data source
// is a note in the plan, not a replacement; plan -upgrade shows the
// replacement with both dates; a changed filter re-resolves the entry.
func TestLockImage(t *testing.T) {
	h := testworld.StartHost(t)
	layers := `
  layer "file" {
    name        = "motd"
    destination = "/tmp/mlops-motd"
    content     = "hello"
  }`
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, lockConfig(layers))
	s.must(0, "apply", "-auto-approve")
	lock := s.lockFile()
	for _, want := range []string{`data "aws_ami" "ubuntu" {`, `id               = "` + lockedAMI + `"`,
		`creation_date    = "` + lockedAMIDate + `"`, `owner_id         = "` + testworld.MotoAccountID + `"`, `region           = "eu-west-1"`,
		`architecture     = "x86_64"`, `image_name       = "` + lockedAMIName + `"`} {
		if !strings.Contains(lock, want) {
			t.Errorf("the lock file lacks %q:\n%s", want, lock)
		}
	}
	if st, err := os.Stat(filepath.Join(s.dir, "mlops.lock.hcl")); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("lock file mode: %v %v", st.Mode(), err)
	}

	// The measure: what the lock adds to a no-op plan. The same API calls
	// and one SSH connection, with or without the lock file.
	conns := h.Connections()
	r, withLock := s.apiCalls("plan", "-detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("no-op plan with the lock: %s", r)
	}
	sshWithLock := since(h.Connections, conns, 1)
	if err := os.Rename(filepath.Join(s.dir, "mlops.lock.hcl"), filepath.Join(s.dir, "lock.aside")); err != nil {
		t.Fatal(err)
	}
	conns = h.Connections()
	r, without := s.apiCalls("plan", "-detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("no-op plan without the lock: %s", r)
	}
	sshWithout := since(h.Connections, conns, 1)
	if err := os.Rename(filepath.Join(s.dir, "lock.aside"), filepath.Join(s.dir, "mlops.lock.hcl")); err != nil {
		t.Fatal(err)
	}
	t.Logf("no-op plan: API calls with the lock %v, without %v; SSH connections with %d, without %d", withLock, without, sshWithLock, sshWithout)
	if strings.Join(withLock, ",") != strings.Join(without, ",") || sshWithLock != 1 || sshWithout != 1 {
		t.Errorf("the lock changed the cost of a no-op plan: API %v vs %v, SSH %d vs %d", withLock, without, sshWithLock, sshWithout)
	}

	// A newer matching image appears: a note, no change, exit 0.
	img := s.moto.RegisterImage(t, jammy+"20261120")
	t.Logf("registered %s owned by %s of %s", img.ID, img.OwnerID, img.CreationDate)
	r = s.must(0, "plan", "-detailed-exitcode")
	contains(t, r, "No changes.", "newer image available: "+img.ID+" ("+img.Name+") of "+img.CreationDate,
		"the lock file keeps "+lockedAMI, "mlops plan -upgrade shows the change")
	if strings.Contains(r.stdout, "must be replaced") {
		t.Errorf("the plan replaces the instance:\n%s", r)
	}
	r = s.must(0, "plan", "-json")
	var doc struct {
		Notes       []string `json:"notes"`
		LockChanges []any    `json:"lock_changes"`
		Summary     struct {
			Changes bool `json:"has_changes"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan -json: %v\n%s", err, r.stdout)
	}
	if len(doc.Notes) != 1 || !strings.Contains(doc.Notes[0], img.ID) || doc.Summary.Changes || len(doc.LockChanges) != 0 {
		t.Errorf("plan -json: notes %q, lock changes %v, has_changes %v", doc.Notes, doc.LockChanges, doc.Summary.Changes)
	}
	// A stack applied before it had a lock file (here: the file removed)
	// keeps the image its state records; the next apply writes it down.
	if err := os.Remove(filepath.Join(s.dir, "mlops.lock.hcl")); err != nil {
		t.Fatal(err)
	}
	contains(t, s.must(0, "plan", "-detailed-exitcode"), "No changes.", "newer image available: "+img.ID,
		"mlops.lock.hcl will record 1 new entry.")
	s.must(0, "apply", "-auto-approve")
	if got := s.lockFile(); got != lock {
		t.Errorf("the lock written from the state:\n%s\nwant:\n%s", got, lock)
	}

	// apply with nothing to do leaves the lock as it was.
	s.must(0, "apply", "-auto-approve")
	if got := s.lockFile(); got != lock {
		t.Errorf("a no-op apply changed the lock file:\n%s", got)
	}

	// -upgrade re-resolves: the instance's image moves, with both dates.
	r = s.must(2, "plan", "-upgrade", "-detailed-exitcode")
	contains(t, r, "must be replaced", lockedAMI+`" -> "`+img.ID, "Changes to the lock file (mlops.lock.hcl):",
		"data data.aws_ami.ubuntu (-upgrade)", lockedAMI+" ("+lockedAMIName+") of "+lockedAMIDate,
		"-> "+img.ID+" ("+img.Name+") of "+img.CreationDate)
	r = s.must(0, "plan", "-upgrade", "-json")
	if !strings.Contains(r.stdout, `"lock_changes"`) || !strings.Contains(r.stdout, `"reason": "-upgrade"`) {
		t.Errorf("plan -upgrade -json lacks the lock change:\n%s", r.stdout)
	}
	// A saved plan keeps -upgrade and shows the same.
	s.must(0, "plan", "-upgrade", "-out", "up.plan")
	contains(t, s.must(0, "show", "up.plan"), "must be replaced", "data data.aws_ami.ubuntu (-upgrade)")
	if r := s.must(0, "show", "-json", "up.plan"); !strings.Contains(r.stdout, `"reason": "-upgrade"`) {
		t.Errorf("show -json of the saved plan lacks the lock change:\n%s", r.stdout)
	}

	// A lock entry that no longer fits the configuration is re-resolved and
	// shown: the name pattern now picks the 2023 image.
	s.writeConfig(strings.Replace(lockConfig(layers), jammy+"*", jammy+"2023*", 1))
	r = s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "the lock entry no longer fits the configuration: name changed", "must be replaced")
}

// TestLockValidate: a broken lock file and an aws_ami without owners are
// reported with file:line before any API call.
func TestLockValidate(t *testing.T) {
	cfg := strings.Replace(machineConfig("", "", ""), `owners = ["099720109477"]`, "", 1)
	s := newStack(t, map[string]string{"main.hcl": cfg})
	s.env = append(s.env, "MLOPS_VAR_ssh_host=127.0.0.1", "MLOPS_VAR_ssh_port=22")
	r := s.must(1, "validate")
	contains(t, r, "Missing required argument", "main.hcl:7", `"owners" is required`)
	// plan stops at the same place: no API call at all.
	r, calls := s.apiCalls("plan")
	if r.code != 1 || len(calls) != 0 {
		t.Errorf("plan without owners: exit %d, API calls %v\n%s", r.code, calls, r)
	}

	s.writeConfig(machineConfig("", "", ""))
	s.writeLockFile("data \"aws_ami\" \"ubuntu\" {\n  id = \"ami-1\"\n}\n\ndownload \"http://x/y\" {\n  sha256 = \"abc\"\n}\n\nlayer \"aws_instance.dev.layer.apt\" {\n  packages = { git = var.v }\n}\n")
	r = s.must(1, "validate")
	contains(t, r, "mlops.lock.hcl:6", "Invalid checksum", "mlops.lock.hcl:10", "must be a literal value")
	r, calls = s.apiCalls("plan")
	if r.code != 1 || len(calls) != 0 {
		t.Errorf("plan with a broken lock: exit %d, API calls %v\n%s", r.code, calls, r)
	}
	s.writeLockFile("data \"aws_ami\" \"ubuntu\" {\n  id = \"ami-1\"\n  colour = \"red\"\n}\n")
	contains(t, s.must(1, "validate"), "mlops.lock.hcl:1", "colour is not an attribute of aws_ami")
}

// TestLockPackagesAndDownloads: a fresh host converged from an existing
// lock installs exactly the locked package version although the mirror has
// a newer one; a locked version the mirror lacks fails naming the package
// and -upgrade; a download that changed since it was locked fails with both
// checksums, and the lock is never made to claim what was not installed.
func TestLockPackagesAndDownloads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs apt on sandbox hosts")
	}
	const pkg = "mlops-lock-probe"
	hosts := testworld.StartHosts(t, 3)
	d := testworld.StartDownloads(t)
	// The first machine's mirror has 1.0; by the time of the next ones it has 2.0 too.
	hosts[0].AddAptRepo(t, pkg, "1.0")
	hosts[1].AddAptRepo(t, pkg, "1.0", "2.0")
	hosts[2].AddAptRepo(t, pkg, "1.0", "2.0")
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
	s := layerStack(t, hosts[0].KeyFile, hosts[0].Addr, hosts[0].Port, lockConfig(layers))
	on := func(h *testworld.Host) []string {
		return []string{"MLOPS_VAR_ssh_host=" + h.Addr, fmt.Sprintf("MLOPS_VAR_ssh_port=%d", h.Port)}
	}
	installed := func(h *testworld.Host) string {
		return strings.TrimSpace(h.Exec(t, "dpkg-query -W -f='${Version}' "+pkg))
	}

	s.must(0, "apply", "-auto-approve")
	lock := s.lockFile()
	sum := d.SHA256(testworld.DownloadCompose)
	for _, want := range []string{
		`layer "aws_instance.dev.layer.apt" {`, pkg + ` = "1.0"`,
		`download "` + d.URL(testworld.DownloadCompose) + `" {`, `sha256 = "` + sum + `"`,
	} {
		if !strings.Contains(lock, want) {
			t.Errorf("the lock file lacks %q:\n%s", want, lock)
		}
	}

	// A machine converged before its layer was locked: the no-op plan's
	// probe reads the version on the host, the next apply records it.
	s.writeLockFile(regexp.MustCompile(`(?s)\nlayer "aws_instance\.dev\.layer\.apt" \{.*?\n\}\n`).ReplaceAllString(lock, ""))
	contains(t, s.must(0, "plan", "-detailed-exitcode"), "No changes.", "mlops.lock.hcl will record 1 new entry.")
	s.must(0, "apply", "-auto-approve")
	if got := s.lockFile(); got != lock {
		t.Errorf("the lock after a no-op apply on a host converged without it:\n%s\nwant:\n%s", got, lock)
	}

	// A fresh machine from the lock gets 1.0, though its mirror offers 2.0.
	s.must(0, "destroy", "-auto-approve")
	r := s.runEnv(on(hosts[1]), "apply", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply on a fresh host: %s", r)
	}
	contains(t, r, "Unpacking "+pkg+" (1.0)", "sha256 verified against the lock file: "+sum)
	if v := installed(hosts[1]); v != "1.0" {
		t.Fatalf("dpkg-query -W %s on the fresh host: %q, want the locked 1.0", pkg, v)
	}
	if got := s.lockFile(); got != lock {
		t.Errorf("converging the fresh host changed the lock:\n%s", got)
	}

	// A hand-edited lock naming a version the mirror does not have.
	s.must(0, "destroy", "-auto-approve")
	s.writeLockFile(strings.Replace(lock, pkg+` = "1.0"`, pkg+` = "9.9"`, 1))
	r = s.runEnv(on(hosts[2]), "apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply with a locked version the mirror lacks: %s", r)
	}
	contains(t, r, "pins package "+pkg+" at version 9.9, which the package mirror no longer has", "mlops apply -upgrade")
	if strings.Contains(s.lockFile(), pkg+` = "2.0"`) || !strings.Contains(s.lockFile(), pkg+` = "9.9"`) {
		t.Errorf("the failed apply changed the package entry:\n%s", s.lockFile())
	}

	// The download server starts serving other bytes: the next fresh
	// install of docker_compose fails with both checksums.
	s.writeLockFile(lock)
	d.Serve(testworld.DownloadCompose, []byte("#!/bin/sh\necho 'Docker Compose version v2.5.0 (not the locked one)'\n"))
	other := d.SHA256(testworld.DownloadCompose)
	r = s.runEnv(on(hosts[2]), "apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply with a changed download: %s", r)
	}
	contains(t, r, "it has sha256 "+other, "the lock file mlops.lock.hcl records "+sum)
	if got := s.lockFile(); !strings.Contains(got, sum) || strings.Contains(got, other) {
		t.Errorf("the lock after the failed download:\n%s", got)
	}
	if v := installed(hosts[2]); v != "1.0" {
		t.Errorf("the apt layer before the failed one installed %q, want 1.0", v)
	}
	if out := hosts[2].Exec(t, "ls /home/ubuntu/soft/ 2>/dev/null || true"); regexp.MustCompile(`(?m)^docker-compose$`).MatchString(out) {
		t.Errorf("the changed download was installed: %s", out)
	}

	// -upgrade takes the mirror's version for a new install and records it.
	s.must(0, "destroy", "-auto-approve")
	hosts[2].Exec(t, "apt-get remove -y "+pkg+" >/dev/null")
	r = s.runEnv(on(hosts[2]), "apply", "-upgrade", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply -upgrade: %s", r)
	}
	if v := installed(hosts[2]); v != "2.0" {
		t.Errorf("apply -upgrade installed %s %q, want 2.0", pkg, v)
	}
	got := s.lockFile()
	if !strings.Contains(got, pkg+` = "2.0"`) || !strings.Contains(got, `sha256 = "`+other+`"`) {
		t.Errorf("the lock after apply -upgrade:\n%s", got)
	}
}
