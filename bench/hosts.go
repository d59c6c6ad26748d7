package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/crypto/ssh"
)

const scenarioHosts = "noop-plan-hosts"

// zoomcampLayers are the layers of examples/zoomcamp/main.hcl, with the
// downloads pointed at the loopback server, plus a file layer: apt,
// anaconda, docker, docker_compose, file, shell.
func zoomcampLayers(dl *testworld.Downloads) string {
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
  layer "shell" {
    name  = "docker-works"
    check = "docker --version >/dev/null && id -nG | grep -qw docker"
    run   = "docker --version"
  }
`, dl.URL(testworld.DownloadAnaconda), dl.SHA256(testworld.DownloadAnaconda),
		dl.URL(testworld.DownloadCompose), dl.SHA256(testworld.DownloadCompose))
}

// trivialLayer is a layer whose probe does next to nothing: with it, a
// plan's time is mlops and SSH alone.
const trivialLayer = `
  layer "shell" {
    name  = "noop"
    check = "true"
    run   = "true"
  }
`

// hostsConfig is one `host` resource per sandbox host, each with the
// given layers (zoomcampLayers or trivialLayer). No AWS resources: this is the part ansible-playbook
// --check does too.
func hostsConfig(hosts []*testworld.Host, layers string) string {
	var b strings.Builder
	for i, h := range hosts {
		fmt.Fprintf(&b, `resource "host" "h%d" {
  ssh {
    host        = %q
    port        = %d
    user        = %q
    private_key = %q
  }
%s}

`, i, h.Addr, h.Port, h.User, h.KeyFile, layers)
	}
	return b.String()
}

// benchHosts converges the zoomcamp layers on sandbox hosts once, then
// times no-op plans and applies and counts what they cost each host.
func benchHosts(w *world, o options, rep *report) error {
	maxHosts := 0
	for _, n := range o.hosts {
		maxHosts = max(maxHosts, n)
	}
	start := time.Now()
	hosts, stopHosts, err := testworld.StartHostsForDemo(maxHosts, w.logf)
	if err != nil {
		return fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	w.stops = append(w.stops, stopHosts) // after profiling, which uses them
	w.logf("%d sandbox host(s) up in %v", maxHosts, time.Since(start).Round(time.Millisecond))
	dl, err := testworld.StartDownloadsServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	w.stops = append(w.stops, func() { dl.Close() })

	t := table{
		title: "noop-plan-hosts: no-op `mlops plan` and `mlops apply` of the zoomcamp layers over SSH",
		intro: "Layers apt, anaconda, docker, docker_compose, file, shell (examples/zoomcamp plus a file layer) on `host` resources, " +
			"one per sandbox host. Converged once (not timed, below), then `plan -detailed-exitcode` must exit 0 and `apply -auto-approve` " +
			"must change nothing. *SSH connections* are the logins each host's sshd accepted during one run; *exec round trips* are the " +
			"commands it started (sshd \"Starting session: command\"), i.e. remote scripts; both per host, over all hosts and runs. " +
			"examples/zoomcamp runs the example itself (aws_instance in moto, ssh host overridden to host 0). " +
			"The *one trivial layer* rows (a shell layer whose check is `true`) show mlops and SSH without the probe scripts. " +
			"Peers (Ansible, pyinfra, OpenTofu) doing the same work are measured by `-scenario peers` (PEERS.md), not here.",
		header: []string{"hosts", "configuration", "command", "mode", "wall time", "SSH connections per host", "exec round trips per host", "EC2 calls"},
	}

	// One variant per configuration measured. The zoomcamp ones first,
	// smallest to largest.
	type variant struct {
		s      *stack
		hosts  []*testworld.Host
		desc   string
		trivia bool // one trivial layer: plan rows only
	}
	var zoom, trivial []*variant
	for _, n := range o.hosts {
		s, err := w.newStack(fmt.Sprintf("hosts-%d", n), map[string]string{"main.hcl": hostsConfig(hosts[:n], zoomcampLayers(dl))})
		if err != nil {
			return err
		}
		zoom = append(zoom, &variant{s: s, hosts: hosts[:n], desc: fmt.Sprintf("%d × `host`, zoomcamp layers", n)})
		s, err = w.newStack(fmt.Sprintf("trivial-%d", n), map[string]string{"main.hcl": hostsConfig(hosts[:n], trivialLayer)})
		if err != nil {
			return err
		}
		trivial = append(trivial, &variant{s: s, hosts: hosts[:n], desc: fmt.Sprintf("%d × `host`, one trivial layer", n), trivia: true})
	}
	one, many := zoom[0], zoom[len(zoom)-1]

	// Converge every host at once with the largest configuration, as mlops
	// does (-parallelism 10): each host starts from the same pristine
	// rootfs, so each runs apt-get for docker.io itself. The others then
	// only record their state.
	for _, v := range append([]*variant{many}, append(zoom[:len(zoom)-1:len(zoom)-1], trivial...)...) {
		w.logf("first apply of %s (%d hosts, not timed)", v.s.name, len(v.hosts))
		start := time.Now()
		if _, err := v.s.must(inProcess, 0, "apply", "-auto-approve", "-parallelism", "10"); err != nil {
			return err
		}
		if v == many {
			t.notes = append(t.notes, fmt.Sprintf("First apply of %s, converging %d fresh hosts in parallel (not timed): %v.", v.s.name, len(v.hosts), time.Since(start).Round(100*time.Millisecond)))
		}
	}

	// examples/zoomcamp itself on host 0: the cloud part in moto, the layers
	// (already there) over SSH.
	if err := w.resetMoto(); err != nil {
		return err
	}
	exStack, err := exampleStack(w, hosts[0], dl)
	if err != nil {
		return err
	}
	if _, err := exStack.must(inProcess, 0, "apply", "-auto-approve"); err != nil {
		return err
	}
	ex := &variant{s: exStack, hosts: hosts[:1], desc: "examples/zoomcamp (aws_instance in moto)"}
	if !o.smoke {
		// The converge leaves the disk busy writing back for a while.
		idle := waitQuiet(60*time.Second, w.logf)
		t.notes = append(t.notes, fmt.Sprintf("The machine was %.0f%% idle before the timed runs.", 100*idle))
	}

	type key struct {
		v   *variant
		cmd string
		m   mode
	}
	results := map[key]samples{}
	for _, v := range append(append(zoom, ex), trivial...) {
		for _, c := range []struct {
			name  string
			check func(result) error
			args  []string
		}{
			{"plan", checkNoOpPlan, []string{"plan", "-detailed-exitcode"}},
			{"apply", checkNoOpApply, []string{"apply", "-auto-approve"}},
		} {
			if v.trivia && c.name == "apply" {
				continue
			}
			for _, m := range w.modes() {
				ss, err := measure(v.s, m, o, v.hosts, c.check, c.args...)
				if err != nil {
					return err
				}
				results[key{v, c.name, m}] = ss
				row := []string{fmt.Sprint(len(v.hosts)), v.desc, c.name, string(m), durations(ss.walls()).ms(),
					ints(ss.perHost(func(x sample) []int { return x.conns })).count(),
					ints(ss.perHost(func(x sample) []int { return x.sessions })).count(),
					totals(ss.calls()).count()}
				t.rows = append(t.rows, row)
				w.logf("%s %s %s: %s", v.s.name, c.name, m, strings.Join(row[4:], ", "))
			}
		}
	}
	rep.tables = append(rep.tables, t)
	if err := profileNow(w, o, rep, profileTarget{s: many.s, what: fmt.Sprintf("no-op `mlops plan` of %d hosts (zoomcamp layers over SSH)", len(many.hosts))}); err != nil {
		return err
	}
	floors, sshFloors, err := benchFloors(w, o, many.s, hosts)
	if err != nil {
		return err
	}
	rep.tables = append(rep.tables, floors)
	bd, scriptCPU, err := probeBreakdown(w, o, one.s, hosts[0])
	if err != nil {
		return err
	}
	rep.tables = append(rep.tables, bd)

	// Goals. The counts do not depend on the machine; the times do.
	var conns, sessions []int
	for k, ss := range results {
		conns = append(conns, ss.perHost(func(x sample) []int { return x.conns })...)
		if k.cmd == "plan" {
			sessions = append(sessions, ss.perHost(func(x sample) []int { return x.sessions })...)
		}
	}
	c, r := ints(conns), ints(sessions)
	rep.goals = append(rep.goals,
		goal{what: "one SSH connection per host per no-op plan or apply", ok: c.min == 1 && c.max == 1, detail: "connections per host: " + c.count(), strict: true},
		goal{what: "one probe round trip per host per no-op plan", ok: r.min == 1 && r.max == 1, detail: "exec round trips per host: " + r.count(), strict: true},
	)
	if one != many {
		n := len(many.hosts)
		for _, m := range w.modes() {
			a, b := durations(results[key{one, "plan", m}].walls()), durations(results[key{many, "plan", m}].walls())
			rep.goals = append(rep.goals, goal{
				what: fmt.Sprintf("no-op plan of %d hosts well under 2× one host (%s)", n, m),
				ok:   b.med < 2*a.med,
				detail: fmt.Sprintf("%d host(s): %s; %d hosts: %s (%.2f×). The sandbox hosts share this machine's %d CPUs: "+
					"%d probe scripts alone need %d × %.0f ms of CPU, at least %.0f ms of wall time here",
					len(one.hosts), a.ms(), n, b.ms(), b.med/a.med, runtime.NumCPU(),
					n, n, msOf(scriptCPU), float64(n)*msOf(scriptCPU)/float64(runtime.NumCPU())),
			})
		}
		t1, tn := trivial[0], trivial[len(trivial)-1]
		for _, m := range w.modes() {
			a, b := durations(results[key{t1, "plan", m}].walls()), durations(results[key{tn, "plan", m}].walls())
			rep.goals = append(rep.goals, goal{
				what: fmt.Sprintf("the same with one trivial layer per host (mlops and SSH, next to no probe work) (%s)", m),
				ok:   b.med < 2*a.med,
				detail: fmt.Sprintf("%d host(s): %s; %d hosts: %s (%.2f×). The SSH floor (login + `true`, Floors table) is %.0f ms and %.0f ms (%.2f×): "+
					"mlops adds %.0f ms and %.0f ms to it",
					len(t1.hosts), a.ms(), len(tn.hosts), b.ms(), b.med/a.med,
					sshFloors[len(t1.hosts)], sshFloors[len(tn.hosts)], sshFloors[len(tn.hosts)]/sshFloors[len(t1.hosts)],
					a.med-sshFloors[len(t1.hosts)], b.med-sshFloors[len(tn.hosts)]),
			})
		}
	}
	m := w.modes()[len(w.modes())-1]
	for _, v := range []*variant{one, ex} {
		d := durations(results[key{v, "plan", m}].walls())
		rep.goals = append(rep.goals, goal{
			what:   fmt.Sprintf("no-op plan under 330 ms (%s, %s)", v.desc, m),
			ok:     d.med < 330,
			detail: d.ms(),
		})
	}

	return nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// exampleStack is examples/zoomcamp as the demo runs it: its key is the
// sandbox's, its SSH address and downloads are overridden by variables.
func exampleStack(w *world, h *testworld.Host, dl *testworld.Downloads) (*stack, error) {
	files := map[string]string{}
	matches, err := filepath.Glob(filepath.Join(w.root, "examples", "zoomcamp", "*.hcl"))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("examples/zoomcamp/*.hcl not found")
	}
	for _, f := range matches {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(f)] = string(b)
	}
	s, err := w.newStack("zoomcamp", files)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(h.KeyFile)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "razer.pem"), key, 0o600); err != nil {
		return nil, err
	}
	s.vars = []string{
		"MLOPS_VAR_ssh_host=" + h.Addr,
		fmt.Sprintf("MLOPS_VAR_ssh_port=%d", h.Port),
		"MLOPS_VAR_anaconda_url=" + dl.URL(testworld.DownloadAnaconda),
		"MLOPS_VAR_anaconda_sha256=" + dl.SHA256(testworld.DownloadAnaconda),
		"MLOPS_VAR_compose_url=" + dl.URL(testworld.DownloadCompose),
		"MLOPS_VAR_compose_sha256=" + dl.SHA256(testworld.DownloadCompose),
	}
	return s, nil
}

// benchFloors times what a no-op plan cannot do without: starting the
// process, loading the configuration, and one SSH login plus one command
// per host (x/crypto/ssh, as mlops uses).
//
// It also returns the median SSH floor by number of hosts.
func benchFloors(w *world, o options, big *stack, hosts []*testworld.Host) (table, map[int]float64, error) {
	sshFloors := map[int]float64{}
	t := table{
		title: "Floors: what a no-op plan cannot avoid",
		intro: "For reading the figures above. `mlops version` is process start and package initialisation; `mlops validate` " +
			"loads and checks the configuration without touching the network; *SSH login + `true`* dials each host, logs in " +
			"with x/crypto/ssh (as mlops does) and runs one command, all hosts in parallel.",
		header: []string{"what", "mode", "wall time"},
	}
	for _, c := range []struct {
		what string
		args []string
	}{
		{"`mlops version`", []string{"version"}},
		{fmt.Sprintf("`mlops validate` (%s)", big.name), []string{"validate"}},
	} {
		for _, m := range w.modes() {
			ss, err := measure(big, m, o, nil, func(r result) error {
				if r.code != 0 {
					return fmt.Errorf("%s", r)
				}
				return nil
			}, c.args...)
			if err != nil {
				return t, nil, err
			}
			t.rows = append(t.rows, []string{c.what, string(m), durations(ss.walls()).ms()})
		}
	}
	for _, n := range o.hosts {
		var walls []time.Duration
		for i := range o.warmup + o.runs {
			d, err := sshFloor(hosts[:n])
			if err != nil {
				return t, nil, err
			}
			if i >= o.warmup {
				walls = append(walls, d)
			}
		}
		t.rows = append(t.rows, []string{fmt.Sprintf("SSH login + `true`, %d host(s)", n), "x/crypto/ssh", durations(walls).ms()})
		sshFloors[n] = durations(walls).med
	}
	return t, sshFloors, nil
}

func (m mode) String() string { return string(m) }

// sshFloor logs in to every host in parallel and runs `true` on each.
func sshFloor(hosts []*testworld.Host) (time.Duration, error) {
	pem, err := os.ReadFile(hosts[0].KeyFile)
	if err != nil {
		return 0, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return 0, err
	}
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	start := time.Now()
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
			if err != nil {
				errs[i] = err
				return
			}
			c, err := ssh.Dial("tcp", h.HostPort(), &ssh.ClientConfig{
				User:            h.User,
				Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
				HostKeyCallback: ssh.FixedHostKey(hk),
				Timeout:         10 * time.Second,
			})
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				errs[i] = err
				return
			}
			defer sess.Close()
			errs[i] = sess.Run("true")
		}()
	}
	wg.Wait()
	d := time.Since(start)
	for i, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("ssh %s: %v", hosts[i].HostPort(), err)
		}
	}
	return d, nil
}
