package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// peerLayers are the layers every tool converges in the comparison: the
// zoomcamp machine's apt, anaconda, docker and docker_compose layers plus a
// file layer. bench/peers/ holds the same steps for Ansible, pyinfra and
// OpenTofu. (The example's shell layer is left out: it checks, it does not
// set anything up.) Kept apart from zoomcampLayers so that the peers'
// playbooks keep matching while that one changes.
func peerLayers(dl *testworld.Downloads) string {
	return fmt.Sprintf(`
  layer "apt" {
    update   = true
    packages = ["git", "make", "wget"]
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
    name        = "mlflow-env"
    destination = "~/.config/mlops/env"
    content     = "MLFLOW_TRACKING_URI=http://localhost:5000\n"
  }
`, dl.URL(testworld.DownloadAnaconda), dl.SHA256(testworld.DownloadAnaconda),
		dl.URL(testworld.DownloadCompose), dl.SHA256(testworld.DownloadCompose))
}

// peerForks is the least parallelism every tool gets (mlops -parallelism,
// Ansible forks, pyinfra --parallel, tofu -parallelism); a larger fleet gets
// one per host: forksFor.
const peerForks = 10

// forksFor is the parallelism of every tool on n hosts: all of them at once,
// and at least peerForks.
func forksFor(n int) int { return max(peerForks, n) }

// toolStack is one tool set up for some hosts in a directory of its own:
// its configuration, inventory, state and HOME.
type toolStack struct {
	tool  string
	name  string
	dir   string
	env   []string
	hosts []*testworld.Host
	// setup runs once, untimed (tofu init).
	setup [][]string
	// apply converges; check is the no-op plan (a dry run where the tool has
	// one).
	apply, check []string
	// converged checks that an apply succeeded; noOp that a run changed
	// nothing (what is "check" or "apply").
	converged func(toolRun) error
	noOp      func(what string, r toolRun) error
	// changes counts what a successful run changed (apply) or would
	// change (check): 0 for a no-op; an error when the run failed. The
	// drift scenario reads it.
	changes func(what string, r toolRun) (int, error)
	// runEnv is extra environment for one run; after runs after each run,
	// untimed.
	runEnv func() []string
	after  func()
	// link, when set, is the delayed network the tool reaches the hosts
	// through: the run happens inside its namespace.
	link *farLink
}

// toolRun is one run of a tool: exit code, output, wall time, and what it
// cost each host (SSH logins and exec requests, from sshd's log).
type toolRun struct {
	code           int
	stdout, stderr string
	wall           time.Duration
	conns          []int
	sessions       []int
	usage          treeUsage
	// hostCPU is the CPU time all the hosts spent on the run (their sshd
	// and every process it ran for the tool), summed.
	hostCPU time.Duration
}

func (r toolRun) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, tail(r.stdout, 4000), tail(r.stderr, 3000))
}

// run runs argv in the stack's directory and times it.
func (s *toolStack) run(argv []string) (toolRun, error) {
	var r toolRun
	var out, errb bytes.Buffer
	full := s.link.wrap(argv)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	if s.runEnv != nil {
		cmd.Env = append(append([]string(nil), s.env...), s.runEnv()...)
	}
	cmd.Stdout, cmd.Stderr = &out, &errb
	before := hostCounters(s.hosts)
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		sampler := sampleTree(cmd.Process.Pid)
		err = cmd.Wait()
		r.wall = time.Since(start)
		r.usage = sampler.finish(cmd.ProcessState)
	}
	if s.after != nil {
		s.after()
	}
	after := settledHostCounters(s.hosts)
	for j := range s.hosts {
		r.conns = append(r.conns, after[j].conns-before[j].conns)
		r.sessions = append(r.sessions, after[j].sessions-before[j].sessions)
		r.hostCPU += after[j].cpu - before[j].cpu
	}
	r.stdout, r.stderr = out.String(), errb.String()
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("%s: running %s: %v", s.name, argv[0], err)
	}
	return r, nil
}

// argv is the command of a run of kind what: "check" (the no-op plan or
// dry run) or "apply".
func (s *toolStack) argv(what string) []string {
	if what == "check" {
		return s.check
	}
	return s.apply
}

// init runs the untimed setup commands.
func (s *toolStack) init() error {
	for _, c := range s.setup {
		r, err := s.run(c)
		if err != nil {
			return err
		}
		if r.code != 0 {
			return fmt.Errorf("%s: %s: %s", s.name, strings.Join(c, " "), r)
		}
	}
	return nil
}

// peerWorld is what the stacks of one bench run share.
type peerWorld struct {
	w   *world
	dl  *testworld.Downloads
	pi  *peerInstall
	dir string // w.tmp/peers
	n   int    // stacks made, for unique directory names
}

func (pw *peerWorld) newDir(tool, name string) (string, error) {
	pw.n++
	d := filepath.Join(pw.dir, fmt.Sprintf("%s-%s-%d", strings.ToLower(tool), name, pw.n))
	return d, os.MkdirAll(filepath.Join(d, "home", ".ssh"), 0o700)
}

// baseEnv is the environment of every peer: nothing of the caller's but
// PATH, a HOME of the stack's own, no colour, C locale.
func baseEnv(dir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"LANG=C.UTF-8",
		"NO_COLOR=1",
		"TERM=dumb",
	}
}

// knownHosts writes the hosts' keys in OpenSSH's known_hosts format:
// every tool checks the host key.
func knownHosts(path string, hosts []*testworld.Host) error {
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "[%s]:%d %s\n", h.Addr, h.Port, h.HostKey)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// mlopsStack is mlops itself: the built binary, a new process per run, like
// the peers.
func (pw *peerWorld) mlopsStack(name string, hosts []*testworld.Host) (*toolStack, error) {
	if pw.w.bin == "" {
		return nil, fmt.Errorf("the peers scenario runs the mlops binary: do not pass -binary=false")
	}
	s, err := pw.w.newStack(fmt.Sprintf("peers-mlops-%s-%d", name, pw.n), map[string]string{"main.hcl": hostsConfig(hosts, peerLayers(pw.dl))})
	pw.n++
	if err != nil {
		return nil, err
	}
	par := strconv.Itoa(forksFor(len(hosts)))
	return &toolStack{
		tool: "mlops", name: s.name, dir: s.dir, env: s.env(pw.w.moto.Endpoint()), hosts: hosts,
		apply: []string{pw.w.bin, "-chdir=" + s.dir, "apply", "-auto-approve", "-parallelism", par},
		check: []string{pw.w.bin, "-chdir=" + s.dir, "plan", "-detailed-exitcode", "-parallelism", par},
		converged: func(r toolRun) error {
			if r.code != 0 {
				return fmt.Errorf("%s", r)
			}
			return nil
		},
		noOp: func(what string, r toolRun) error {
			res := result{code: r.code, stdout: r.stdout, stderr: r.stderr}
			if what == "check" {
				return checkNoOpPlan(res)
			}
			return checkNoOpApply(res)
		},
		changes: func(what string, r toolRun) (int, error) {
			switch {
			case what == "check" && r.code == 0:
				return 0, nil
			case what == "check" && r.code == 2:
				return 1, nil
			case what == "apply" && r.code == 0 && strings.Contains(r.stdout, "No changes."):
				return 0, nil
			case what == "apply" && r.code == 0:
				return 1, nil
			}
			return 0, fmt.Errorf("mlops %s failed: %s", what, r)
		},
	}, nil
}

// ansibleStack is bench/peers/ansible/zoomcamp.yml with an inventory of the
// hosts. Settings (ansible.cfg): forks for every host at once (at least
// 10), pipelining on, the Python interpreter named (no discovery round
// trip), no fact gathering (in the playbook), host keys checked, a 60 s
// connection timeout (a check of 50 hosts through the 25 ms link failed
// twice as unreachable with the default 10 s: 50 logins at once on two
// CPUs; a longer timeout does not speed anything up); SSH as Ansible sets it up by default (-C,
// ControlMaster=auto, ControlPersist=60s). Each run gets a new control
// directory and its master connections are closed after it, so every run
// logs in afresh, as mlops does, and as Ansible does after 60 s idle.
func (pw *peerWorld) ansibleStack(name string, hosts []*testworld.Host) (*toolStack, error) {
	return pw.ansibleStackOf("Ansible", "zoomcamp.yml", "", name, hosts)
}

// ansibleTunedStack is the strongest Ansible configuration the bench has:
// bench/peers/ansible/zoomcamp-tuned.yml (the apt tasks merged) with the
// same settings, and Mitogen's strategy when it is installed in the venv
// and supports the pinned ansible-core (pw.pi.mitogen).
func (pw *peerWorld) ansibleTunedStack(name string, hosts []*testworld.Host) (*toolStack, error) {
	return pw.ansibleStackOf(ansibleTuned, "zoomcamp-tuned.yml", pw.pi.mitogen, name, hosts)
}

const ansibleTuned = "Ansible (tuned)"

// ansibleStackOf is an Ansible stack running playbook; strategyDir, when
// not empty, holds Mitogen's strategy plugins, which the stack then uses
// (strategy mitogen_linear).
func (pw *peerWorld) ansibleStackOf(tool, playbookFile, strategyDir, name string, hosts []*testworld.Host) (*toolStack, error) {
	tag := "ansible"
	if tool == ansibleTuned {
		tag = "ansible-tuned"
	}
	dir, err := pw.newDir(tag, name)
	if err != nil {
		return nil, err
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := knownHosts(kh, hosts); err != nil {
		return nil, err
	}
	var inv strings.Builder
	inv.WriteString("[zoomcamp]\n")
	for i, h := range hosts {
		fmt.Fprintf(&inv, "h%d ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s\n",
			i, h.Addr, h.Port, h.User, h.KeyFile)
	}
	fmt.Fprintf(&inv, "\n[zoomcamp:vars]\nanaconda_url=%s\nanaconda_sha256=%s\ncompose_url=%s\ncompose_sha256=%s\n",
		pw.dl.URL(testworld.DownloadAnaconda), pw.dl.SHA256(testworld.DownloadAnaconda),
		pw.dl.URL(testworld.DownloadCompose), pw.dl.SHA256(testworld.DownloadCompose))
	strategy := ""
	if strategyDir != "" {
		strategy = "strategy_plugins = " + strategyDir + "\nstrategy = mitogen_linear\n"
	}
	cfg := fmt.Sprintf(`[defaults]
inventory = inventory.ini
forks = %d
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
timeout = 60
nocolor = True
%s
[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
`, forksFor(len(hosts)), strategy, kh)
	for f, content := range map[string]string{"inventory.ini": inv.String(), "ansible.cfg": cfg} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	if err := copyFile(filepath.Join(dir, playbookFile), filepath.Join(pw.w.root, "bench", "peers", "ansible", playbookFile)); err != nil {
		return nil, err
	}
	playbook := pw.pi.bin("ansible-playbook")
	var control string
	s := &toolStack{
		tool: tool, name: filepath.Base(dir), dir: dir, hosts: hosts,
		env:   append(baseEnv(dir), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg")),
		apply: []string{playbook, playbookFile},
		check: []string{playbook, "--check", playbookFile},
	}
	s.runEnv = func() []string {
		control, _ = os.MkdirTemp(dir, "cp-")
		return []string{"ANSIBLE_SSH_CONTROL_PATH_DIR=" + control}
	}
	s.after = func() {
		socks, _ := filepath.Glob(filepath.Join(control, "*"))
		for _, sock := range socks {
			exec.Command("ssh", "-o", "ControlPath="+sock, "-O", "exit", "peer").Run()
		}
		os.RemoveAll(control)
	}
	s.converged = func(r toolRun) error {
		_, err := ansibleRecap(r, len(hosts))
		return err
	}
	s.changes = func(_ string, r toolRun) (int, error) { return ansibleRecap(r, len(hosts)) }
	s.noOp = func(_ string, r toolRun) error {
		changed, err := ansibleRecap(r, len(hosts))
		if err == nil && changed > 0 {
			err = fmt.Errorf("%d task(s) changed: %s", changed, r)
		}
		return err
	}
	return s, nil
}

var recapRe = regexp.MustCompile(`(?m)^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// ansibleRecap reads PLAY RECAP: the changed tasks over all hosts, or an
// error when the run failed or a host is missing.
func ansibleRecap(r toolRun, hosts int) (changed int, err error) {
	m := recapRe.FindAllStringSubmatch(r.stdout, -1)
	if r.code != 0 || len(m) != hosts {
		return 0, fmt.Errorf("ansible-playbook failed or did not reach all %d hosts: %s", hosts, r)
	}
	for _, x := range m {
		c, _ := strconv.Atoi(x[2])
		if x[3] != "0" || x[4] != "0" {
			return 0, fmt.Errorf("a host was unreachable or failed: %s", r)
		}
		changed += c
	}
	return changed, nil
}

// pyinfraStack is bench/peers/pyinfra/deploy.py with an inventory of the
// hosts: --parallel 10, host keys checked against a known_hosts file, no
// SSH agent or config; its report as JSON (--json), which the bench reads.
func (pw *peerWorld) pyinfraStack(name string, hosts []*testworld.Host) (*toolStack, error) {
	dir, err := pw.newDir("pyinfra", name)
	if err != nil {
		return nil, err
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := knownHosts(kh, hosts); err != nil {
		return nil, err
	}
	var inv strings.Builder
	inv.WriteString("# Generated by the bench: the sandbox hosts and the loopback downloads.\nzoomcamp = [\n")
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    (%q, {\"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, \"ssh_known_hosts_file\": %q,\n"+
			"        \"ssh_strict_host_key_checking\": \"yes\", \"ssh_allow_agent\": False, \"ssh_look_for_keys\": False,\n"+
			"        \"anaconda_url\": %q, \"anaconda_sha256\": %q, \"compose_url\": %q, \"compose_sha256\": %q}),\n",
			h.Addr, h.Port, h.User, h.KeyFile, kh,
			pw.dl.URL(testworld.DownloadAnaconda), pw.dl.SHA256(testworld.DownloadAnaconda),
			pw.dl.URL(testworld.DownloadCompose), pw.dl.SHA256(testworld.DownloadCompose))
	}
	inv.WriteString("]\n")
	if err := os.WriteFile(filepath.Join(dir, "inventory.py"), []byte(inv.String()), 0o644); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(dir, "deploy.py"), filepath.Join(pw.w.root, "bench", "peers", "pyinfra", "deploy.py")); err != nil {
		return nil, err
	}
	bin := pw.pi.bin("pyinfra")
	par := strconv.Itoa(forksFor(len(hosts)))
	s := &toolStack{
		tool: "pyinfra", name: filepath.Base(dir), dir: dir, hosts: hosts, env: baseEnv(dir),
		apply: []string{bin, "-y", "--json", "--parallel", par, "inventory.py", "deploy.py"},
		check: []string{bin, "--dry", "--json", "--parallel", par, "inventory.py", "deploy.py"},
	}
	s.converged = func(r toolRun) error {
		_, err := pyinfraChanges(r)
		return err
	}
	s.changes = func(_ string, r toolRun) (int, error) { return pyinfraChanges(r) }
	s.noOp = func(_ string, r toolRun) error {
		changed, err := pyinfraChanges(r)
		if err == nil && changed > 0 {
			err = fmt.Errorf("%d operation(s) would change or changed a host: %s", changed, r)
		}
		return err
	}
	return s, nil
}

// pyinfraChanges reads pyinfra's JSON report (--json): the operations
// that changed a host (an apply's results) or would change or might change
// one (a --dry run's plan), counted per host, or an error when the run
// failed or an operation errored.
func pyinfraChanges(r toolRun) (int, error) {
	var rep struct {
		Plan []struct {
			HostsWithChange            []string `json:"hosts_with_change"`
			HostsWithConditionalChange []string `json:"hosts_with_conditional_change"`
		} `json:"plan"`
		Results *struct {
			Totals struct {
				Success, Error int
			} `json:"totals"`
		} `json:"results"`
	}
	if r.code != 0 {
		return 0, fmt.Errorf("pyinfra failed: %s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		return 0, fmt.Errorf("pyinfra --json: %v: %s", err, r)
	}
	if rep.Results != nil {
		if rep.Results.Totals.Error > 0 {
			return 0, fmt.Errorf("pyinfra: %d operation(s) failed: %s", rep.Results.Totals.Error, r)
		}
		return rep.Results.Totals.Success, nil
	}
	n := 0
	for _, op := range rep.Plan {
		n += len(op.HostsWithChange) + len(op.HostsWithConditionalChange)
	}
	return n, nil
}

// tofuStack is bench/peers/opentofu with the hosts as a variable: one
// terraform_data resource per host, its remote-exec provisioner runs the
// steps. -parallelism 10. Its no-op plan reads the state and the
// configuration only: it does not connect to the hosts.
func (pw *peerWorld) tofuStack(name string, hosts []*testworld.Host) (*toolStack, error) {
	dir, err := pw.newDir("opentofu", name)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"main.tf", "converge.sh.tftpl"} {
		if err := copyFile(filepath.Join(dir, f), filepath.Join(pw.w.root, "bench", "peers", "opentofu", f)); err != nil {
			return nil, err
		}
	}
	type hostVar struct {
		Addr    string `json:"addr"`
		Port    int    `json:"port"`
		HostKey string `json:"host_key"`
	}
	var hv []hostVar
	for _, h := range hosts {
		hv = append(hv, hostVar{h.Addr, h.Port, h.HostKey})
	}
	hj, err := json.Marshal(hv)
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(dir, "tofurc")
	if err := os.WriteFile(cli, nil, 0o644); err != nil {
		return nil, err
	}
	env := append(baseEnv(dir),
		"TF_CLI_CONFIG_FILE="+cli,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"TF_VAR_hosts="+string(hj),
		"TF_VAR_private_key_file="+hosts[0].KeyFile,
		"TF_VAR_anaconda_url="+pw.dl.URL(testworld.DownloadAnaconda),
		"TF_VAR_anaconda_sha256="+pw.dl.SHA256(testworld.DownloadAnaconda),
		"TF_VAR_compose_url="+pw.dl.URL(testworld.DownloadCompose),
		"TF_VAR_compose_sha256="+pw.dl.SHA256(testworld.DownloadCompose),
	)
	tofu := pw.pi.tofu
	par := "-parallelism=" + strconv.Itoa(forksFor(len(hosts)))
	s := &toolStack{
		tool: "OpenTofu", name: filepath.Base(dir), dir: dir, hosts: hosts, env: env,
		setup: [][]string{{tofu, "init", "-input=false", "-no-color"}},
		apply: []string{tofu, "apply", "-auto-approve", "-input=false", "-no-color", par},
		check: []string{tofu, "plan", "-detailed-exitcode", "-input=false", "-no-color", par},
	}
	s.converged = func(r toolRun) error {
		if r.code != 0 || !strings.Contains(r.stdout, "Apply complete!") {
			return fmt.Errorf("tofu apply failed: %s", r)
		}
		return nil
	}
	s.changes = func(what string, r toolRun) (int, error) {
		switch {
		case what == "check" && r.code == 0:
			return 0, nil
		case what == "check" && r.code == 2:
			return 1, nil
		case what == "apply" && r.code == 0 && strings.Contains(r.stdout, "Resources: 0 added, 0 changed, 0 destroyed"):
			return 0, nil
		case what == "apply" && r.code == 0:
			return 1, nil
		}
		return 0, fmt.Errorf("tofu %s failed: %s", what, r)
	}
	s.noOp = func(what string, r toolRun) error {
		switch {
		case what == "check" && (r.code != 0 || !strings.Contains(r.stdout, "No changes.")):
			return fmt.Errorf("tofu plan is not a no-op (want exit 0 with -detailed-exitcode and \"No changes.\"): %s", r)
		case what == "apply" && (r.code != 0 || !strings.Contains(r.stdout, "Resources: 0 added, 0 changed, 0 destroyed")):
			return fmt.Errorf("tofu apply was not a no-op: %s", r)
		}
		return nil
	}
	return s, nil
}

// mlopsAgrees checks a peer's converge with mlops: a plan of peerLayers on
// the hosts (a new stack, so nothing recorded) must find every layer
// satisfied. It is what makes "the same work" checkable.
func (pw *peerWorld) mlopsAgrees(hosts []*testworld.Host) error {
	s, err := pw.w.newStack(fmt.Sprintf("peers-agree-%d", pw.n), map[string]string{"main.hcl": hostsConfig(hosts, peerLayers(pw.dl))})
	pw.n++
	if err != nil {
		return err
	}
	r, err := s.run(binary, "plan", "-json", "-parallelism", strconv.Itoa(peerForks))
	if err != nil {
		return err
	}
	var p struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Layers  []struct {
				Address string   `json:"address"`
				Action  string   `json:"action"`
				Reasons []string `json:"reasons"`
			} `json:"layers"`
		} `json:"resource_changes"`
	}
	if r.code != 0 && r.code != 2 {
		return fmt.Errorf("mlops plan -json: %s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		return fmt.Errorf("mlops plan -json: %v: %s", err, r)
	}
	var bad []string
	layers := 0
	for _, rc := range p.ResourceChanges {
		for _, l := range rc.Layers {
			layers++
			if l.Action != "no-op" {
				bad = append(bad, fmt.Sprintf("%s %s (%s)", l.Address, l.Action, strings.Join(l.Reasons, "; ")))
			}
		}
	}
	if want := 5 * len(hosts); layers != want {
		return fmt.Errorf("mlops plan -json shows %d layers, want %d: %s", layers, want, r)
	}
	if len(bad) > 0 {
		return fmt.Errorf("mlops finds layers unsatisfied: %s", strings.Join(bad, ", "))
	}
	return nil
}
