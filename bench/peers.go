package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// scenarioPeers compares mlops with Ansible, pyinfra and OpenTofu doing the
// same work on the same sandbox hosts. It is not part of "all": it installs
// the peers (a venv, an OpenTofu build) and takes about half an hour. It
// writes bench/results/PEERS.md, peers.json and peers.png, never RESULTS.md.
const scenarioPeers = "peers"

// peerTools are the tools compared, mlops first.
var peerTools = []string{"mlops", "Ansible", "pyinfra", "OpenTofu"}

// peerRow is one scenario of the comparison: a figure per tool.
type peerRow struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Hosts int    `json:"hosts"`
	// Command is what each tool ran, by tool.
	Command map[string]string `json:"command"`
	// Wall is median, min and max in ms by tool; missing: not measured.
	Wall map[string]dist `json:"-"`
	// Logins and Execs are SSH logins and exec requests per host per run
	// (median over hosts and runs) by tool.
	Logins, Execs map[string]dist `json:"-"`
	Runs          int             `json:"runs"`
	Note          string          `json:"note,omitempty"`
}

// MarshalJSON writes the figures in a form the chart script reads.
func (r peerRow) MarshalJSON() ([]byte, error) {
	type fig struct{ Median, Min, Max float64 }
	wall := map[string]fig{}
	for t, d := range r.Wall {
		wall[t] = fig{d.med, d.min, d.max}
	}
	type plain peerRow
	// looked: whether the tool's runs logged in to the hosts at all.
	looked := map[string]bool{}
	for t, d := range r.Logins {
		looked[t] = d.max > 0
	}
	return json.Marshal(struct {
		plain
		WallMS map[string]fig  `json:"wall_ms"`
		Looked map[string]bool `json:"looked"`
	}{plain(r), wall, looked})
}

type peerReport struct {
	started  time.Time
	pi       *peerInstall
	rows     []*peerRow
	notes    []string
	firstRun map[string]string // tool -> what its first run on hosts converged by mlops changed
}

func (pr *peerReport) row(id, title string, hosts, runs int) *peerRow {
	r := &peerRow{ID: id, Title: title, Hosts: hosts, Runs: runs, Command: map[string]string{},
		Wall: map[string]dist{}, Logins: map[string]dist{}, Execs: map[string]dist{}}
	pr.rows = append(pr.rows, r)
	return r
}

// record adds the timed runs of one tool to a row.
func (r *peerRow) record(tool string, argv []string, runs []toolRun) {
	var walls []time.Duration
	var logins, execs []int
	for _, x := range runs {
		walls = append(walls, x.wall)
		logins = append(logins, x.conns...)
		execs = append(execs, x.sessions...)
	}
	r.Wall[tool], r.Logins[tool], r.Execs[tool] = durations(walls), ints(logins), ints(execs)
	args := append([]string{filepath.Base(argv[0])}, argv[1:]...)
	for i, a := range args {
		if strings.HasPrefix(a, "-chdir=") {
			args[i] = "-chdir=DIR"
		}
	}
	r.Command[tool] = strings.Join(args, " ")
}

// benchPeers runs the comparison. Fresh converges get a new host per run
// and tool; the no-op scenarios share hosts that mlops converged once and
// that each peer then applied itself once (untimed) to itself, so that
// every tool sees the state it leaves.
func benchPeers(w *world, o options) error {
	pi, err := ensurePeers(w.root, w.logf)
	if err != nil {
		return err
	}
	dl, err := testworld.StartDownloadsServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	w.stops = append(w.stops, func() { dl.Close() })
	pw := &peerWorld{w: w, dl: dl, pi: pi, dir: filepath.Join(w.tmp, "peers")}
	pr := &peerReport{started: time.Now(), pi: pi, firstRun: map[string]string{}}

	stackers := map[string]func(string, []*testworld.Host) (*toolStack, error){
		"mlops": pw.mlopsStack, "Ansible": pw.ansibleStack, "pyinfra": pw.pyinfraStack, "OpenTofu": pw.tofuStack,
	}
	var tools []string
	for _, t := range peerTools {
		if t == "OpenTofu" && pi.tofu == "" {
			w.logf("OpenTofu skipped: %s", pi.tofuSkip)
			pr.notes = append(pr.notes, "OpenTofu was not measured: "+pi.tofuSkip)
			continue
		}
		tools = append(tools, t)
	}

	mirror, err := startAptMirror(w)
	if err != nil {
		return err
	}
	prep := func(hosts []*testworld.Host) error {
		for _, h := range hosts {
			if err := prepareHost(h, mirror); err != nil {
				return err
			}
		}
		return nil
	}

	// (1) Fresh converge of one host: a new host for every run of every
	// tool, the tools taking turns so that drift (the mirror, the machine)
	// falls on all of them alike.
	fresh := pr.row("converge-1", "fresh converge, 1 host", 1, o.runs)
	freshRuns := map[string][]toolRun{}
	freshArgv := map[string][]string{}
	for i := range o.warmup + o.runs {
		for _, t := range tools {
			waitQuiet(20*time.Second, w.logf)
			hosts, stop, err := testworld.StartHostsForDemo(1, nil)
			if err != nil {
				return fmt.Errorf("sandbox hosts (they need root): %v", err)
			}
			r, argv, err := func() (toolRun, []string, error) {
				defer stop()
				if err := prep(hosts); err != nil {
					return toolRun{}, nil, err
				}
				s, err := stackers[t](fmt.Sprintf("fresh%d", i), hosts)
				if err != nil {
					return toolRun{}, nil, err
				}
				if err := s.init(); err != nil {
					return toolRun{}, nil, err
				}
				r, err := s.run(s.apply)
				if err == nil {
					err = s.converged(r)
				}
				if err == nil {
					err = pw.mlopsAgrees(hosts)
					if err != nil {
						err = fmt.Errorf("after %s's converge: %v", t, err)
					}
				}
				return r, s.apply, err
			}()
			if err != nil {
				return err
			}
			w.logf("peers: fresh converge %d/%d, %s: %v", i+1, o.warmup+o.runs, t, r.wall.Round(time.Millisecond))
			if i >= o.warmup {
				freshRuns[t] = append(freshRuns[t], r)
				freshArgv[t] = argv
			}
		}
	}
	for _, t := range tools {
		fresh.record(t, freshArgv[t], freshRuns[t])
	}

	// (2)-(4) No-op plans and applies on hosts converged once by mlops.
	maxHosts := 0
	for _, n := range o.hosts {
		maxHosts = max(maxHosts, n)
	}
	hosts, stopHosts, err := testworld.StartHostsForDemo(maxHosts, w.logf)
	if err != nil {
		return fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	defer stopHosts()
	if err := prep(hosts); err != nil {
		return err
	}
	type sized struct {
		n      int
		stacks map[string]*toolStack
	}
	var sizes []sized
	for _, n := range o.hosts {
		sz := sized{n: n, stacks: map[string]*toolStack{}}
		for _, t := range tools {
			s, err := stackers[t](fmt.Sprintf("noop%d", n), hosts[:n])
			if err != nil {
				return err
			}
			if err := s.init(); err != nil {
				return err
			}
			sz.stacks[t] = s
		}
		sizes = append(sizes, sz)
	}
	start := time.Now()
	big := sizes[len(sizes)-1]
	w.logf("peers: converging %d hosts with mlops (not timed)", maxHosts)
	r, err := big.stacks["mlops"].run(big.stacks["mlops"].apply)
	if err == nil {
		err = big.stacks["mlops"].converged(r)
	}
	if err != nil {
		return err
	}
	pr.notes = append(pr.notes, fmt.Sprintf("The no-op scenarios ran on %d hosts converged once by mlops (%v, not timed); "+
		"every tool then applied its own configuration to them once, untimed, before its timed runs.", maxHosts, time.Since(start).Round(time.Second)))
	// Every stack's first apply, untimed: tofu records its resources (and
	// runs its script, which finds nothing to do), pyinfra stamps its apt
	// cache time. What a peer's first run changed is reported. The largest
	// stack goes first, so that its first run is every host's first.
	for i := range sizes {
		sz := sizes[len(sizes)-1-i]
		for _, t := range tools {
			s := sz.stacks[t]
			r, err := s.run(s.apply)
			if err == nil {
				err = s.converged(r)
			}
			if err != nil {
				return err
			}
			if sz.n == big.n && t != "mlops" {
				pr.firstRun[t] = firstRunChanges(t, r)
			}
		}
	}
	idle := waitQuiet(60*time.Second, w.logf)
	pr.notes = append(pr.notes, fmt.Sprintf("The machine was %.0f%% idle before the no-op runs.", 100*idle))
	for _, sz := range sizes {
		for _, c := range []struct{ what, id, title string }{
			{"check", "noop-plan", "no-op plan / check"},
			{"apply", "noop-apply", "no-op apply"},
		} {
			row := pr.row(fmt.Sprintf("%s-%d", c.id, sz.n), fmt.Sprintf("%s, %d host%s", c.title, sz.n, plural(sz.n)), sz.n, o.runs)
			runs := map[string][]toolRun{}
			for i := range o.warmup + o.runs {
				for _, t := range tools {
					s := sz.stacks[t]
					argv := s.apply
					if c.what == "check" {
						argv = s.check
					}
					settle()
					r, err := s.run(argv)
					if err != nil {
						return err
					}
					if err := s.noOp(c.what, r); err != nil {
						return fmt.Errorf("%s %s on %d host(s): %v", t, c.what, sz.n, err)
					}
					if i >= o.warmup {
						runs[t] = append(runs[t], r)
					}
				}
			}
			for _, t := range tools {
				s := sz.stacks[t]
				argv := s.apply
				if c.what == "check" {
					argv = s.check
				}
				row.record(t, argv, runs[t])
				w.logf("peers: %s, %s: %s", row.Title, t, row.Wall[t].ms())
			}
		}
	}

	// (5) mlops alone: a no-op plan of N instances against the EC2 API.
	n := o.sizes[len(o.sizes)-1]
	if err := w.resetMoto(); err != nil {
		return err
	}
	s, err := w.newStack(fmt.Sprintf("peers-api-%d", n), map[string]string{"main.hcl": apiConfig(n)})
	if err != nil {
		return err
	}
	if _, err := s.must(inProcess, 0, "apply", "-auto-approve"); err != nil {
		return err
	}
	ss, err := measure(s, binary, o, nil, checkNoOpPlan, "plan", "-detailed-exitcode")
	if err != nil {
		return err
	}
	api := pr.row(fmt.Sprintf("api-calls-%d", n), fmt.Sprintf("no-op plan, %d aws_instance (EC2 API in moto)", n), 0, o.runs)
	api.Wall["mlops"] = durations(ss.walls())
	api.Command["mlops"] = "mlops plan -detailed-exitcode"
	api.Note = fmt.Sprintf("mlops only: no peer here manages EC2 (OpenTofu's AWS provider comes from its registry, which this machine cannot reach; "+
		"Ansible's amazon.aws and pyinfra were not set up for it). %s EC2 calls per plan.", totals(ss.calls()).count())

	return pr.write(w, o)
}

// settle waits, at most 5 s, until the machine is 80% idle over half a
// second: the tools take turns, and one tool's aftermath (sshd sessions
// closing on ten hosts, Ansible's worker processes exiting) must not land
// in the next tool's run.
func settle() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if idle, ok := idleOver(500 * time.Millisecond); !ok || idle >= 0.8 {
			return
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// firstRunChanges says what a peer's first apply changed on hosts that
// mlops had converged: the changed tasks or operations by name, with the
// number of hosts.
func firstRunChanges(tool string, r toolRun) string {
	var names []string
	counts := map[string]int{}
	add := func(name string, n int) {
		if counts[name] == 0 {
			names = append(names, name)
		}
		counts[name] += n
	}
	switch tool {
	case "Ansible":
		task := ""
		for _, line := range strings.Split(r.stdout, "\n") {
			if t, ok := strings.CutPrefix(line, "TASK ["); ok {
				task, _, _ = strings.Cut(t, "]")
			} else if strings.HasPrefix(line, "changed: ") {
				add(task, 1)
			}
		}
	case "pyinfra":
		var rep struct {
			Results struct {
				Operations []struct {
					Name    string   `json:"name"`
					Success []string `json:"success"`
				} `json:"operations"`
			} `json:"results"`
		}
		json.Unmarshal([]byte(r.stdout), &rep)
		for _, op := range rep.Results.Operations {
			if len(op.Success) > 0 {
				add(op.Name, len(op.Success))
			}
		}
	case "OpenTofu":
		return "created its terraform_data resources (its state) and ran its script once on each host; the script found every step done"
	}
	if len(names) == 0 {
		return "nothing"
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%q on %d host(s)", n, counts[n]))
	}
	return strings.Join(parts, ", ")
}

// aptMirror is a loopback HTTP server holding a flat apt repository: the
// .deb files of the packages the layers install, with everything they pull
// in, and python3-apt (Ansible's apt module needs it; Ubuntu's cloud images
// have it). They are downloaded from Debian once per bench run, on a
// scratch host; from then on every tool's apt-get update and install talk
// to this server only, so no run reaches past 127.0.0.0/8 and the mirror's
// speed on the day decides nothing.
type aptMirror struct {
	dir string // the repository: *.deb, Packages, Release
	url string // http://127.0.0.1:PORT/
}

func startAptMirror(w *world) (*aptMirror, error) {
	m := &aptMirror{dir: filepath.Join(w.tmp, "apt-mirror")}
	hosts, stop, err := testworld.StartHostsForDemo(1, nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	defer stop()
	start := time.Now()
	if _, err := hosts[0].Shell(`set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -qq -y --download-only git make wget docker.io python3-apt >/dev/null
apt-get install -qq -y apt-utils >/dev/null  # apt-ftparchive, after the download: not in the repository
cd /var/cache/apt/archives
apt-ftparchive packages . >Packages
apt-ftparchive release . >Release`); err != nil {
		return nil, fmt.Errorf("building the apt repository: %v", err)
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(hosts[0].Root, "var/cache/apt/archives/*.deb"))
	for _, f := range append(files, filepath.Join(hosts[0].Root, "var/cache/apt/archives/Packages"), filepath.Join(hosts[0].Root, "var/cache/apt/archives/Release")) {
		if err := copyFile(filepath.Join(m.dir, filepath.Base(f)), f); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(m.dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	w.stops = append(w.stops, func() { srv.Close() })
	m.url = "http://" + l.Addr().String() + "/"
	w.logf("peers: apt repository of %d packages on %s, built in %v", len(files), m.url, time.Since(start).Round(time.Second))
	return m, nil
}

// prepareHost makes a fresh sandbox host what every tool starts from: apt
// pointed at the loopback repository with empty package lists whose
// directory is two days old (so that every tool's converge runs apt-get
// update: mlops whenever the apt layer runs, Ansible and pyinfra when
// their cache is older than a day), and python3-apt installed.
func prepareHost(h *testworld.Host, m *aptMirror) error {
	tmp := filepath.Join(h.Root, "tmp", "seed")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, pattern := range []string{"distro-info-data_*.deb", "python-apt-common_*.deb", "python3-apt_*.deb"} {
		debs, _ := filepath.Glob(filepath.Join(m.dir, pattern))
		if len(debs) != 1 {
			return fmt.Errorf("the apt repository has %d files %s, want 1", len(debs), pattern)
		}
		if err := copyFile(filepath.Join(tmp, filepath.Base(debs[0])), debs[0]); err != nil {
			return err
		}
	}
	_, err := h.Shell(`set -e
dpkg -i /tmp/seed/*.deb >/dev/null
rm -rf /tmp/seed /etc/apt/sources.list.d/*
echo 'deb [trusted=yes] ` + m.url + ` ./' >/etc/apt/sources.list
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
rm -f /var/lib/apt/periodic/update-success-stamp
touch -d '2 days ago' /var/lib/apt/lists`)
	if err != nil {
		return fmt.Errorf("preparing host %s: %v", h.Addr, err)
	}
	return nil
}

// write renders PEERS.md and peers.json and draws peers.png.
func (pr *peerReport) write(w *world, o options) error {
	md := pr.markdown(o)
	fmt.Print(md)
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "PEERS.md"), []byte(md), 0o644); err != nil {
		return err
	}
	var tools []string
	for _, t := range peerTools {
		if _, ok := pr.rows[0].Wall[t]; ok {
			tools = append(tools, t)
		}
	}
	j, err := json.MarshalIndent(map[string]any{
		"started": pr.started.UTC().Format(time.RFC3339), "machine": environment(),
		"tools": tools, "versions": pr.pi.versions, "rows": pr.rows,
	}, "", "  ")
	if err != nil {
		return err
	}
	jsonPath := filepath.Join(o.out, "peers.json")
	if err := os.WriteFile(jsonPath, append(j, '\n'), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(pr.pi.bin("python"), filepath.Join(w.root, "bench", "peers", "chart.py"), jsonPath, filepath.Join(o.out, "peers.png"))
	cmd.Env = append(os.Environ(), "MPLBACKEND=Agg", "MPLCONFIGDIR="+filepath.Join(w.tmp, "mpl"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("drawing the chart: %v\n%s", err, out)
	}
	w.logf("wrote PEERS.md, peers.json and peers.png in %s", o.out)
	return nil
}

// seconds renders milliseconds as the table shows them: "1.23 s (1.10–1.40)"
// or "240 ms (216–279)".
func seconds(d dist) string {
	if d.med >= 1000 {
		return fmt.Sprintf("%.2f s (%.2f–%.2f)", d.med/1000, d.min/1000, d.max/1000)
	}
	return d.ms()
}

func (pr *peerReport) markdown(o options) string {
	var b strings.Builder
	var tools []string
	for _, t := range peerTools {
		if _, ok := pr.rows[0].Wall[t]; ok {
			tools = append(tools, t)
		}
	}
	fmt.Fprintf(&b, "# mlops and its peers\n\n")
	fmt.Fprintf(&b, "Run of %s (`go run ./bench -scenario peers%s`), %d timed runs after %d warm-up run(s); each figure is the median (min–max) "+
		"of the wall time a user waits for: the tool's process from start to exit.\n",
		pr.started.UTC().Format("2006-01-02 15:04 MST"), map[bool]string{true: " -smoke", false: ""}[o.smoke], o.runs, o.warmup)
	fmt.Fprintf(&b, "Machine: %s.\n\n", environment())
	fmt.Fprintf(&b, "Versions: mlops at %s; ", gitCommit())
	var vs []string
	for _, k := range []string{"Ansible", "pyinfra", "OpenTofu", "Python", "paramiko (pyinfra's transport)", "OpenSSH client (Ansible's transport)"} {
		if v, ok := pr.pi.versions[k]; ok {
			vs = append(vs, fmt.Sprintf("%s: `%s`", k, v))
		}
	}
	b.WriteString(strings.Join(vs, "; ") + ".\n\n")
	b.WriteString("![wall time by scenario and tool](peers.png)\n\n")

	b.WriteString("## Wall time\n\n")
	b.WriteString("The ratio is the tool's median over mlops' median: 2.0× takes twice as long as mlops, 0.5× half as long.\n\n")
	b.WriteString("| scenario | " + strings.Join(tools, " | ") + " |\n|---" + strings.Repeat("|---", len(tools)) + "|\n")
	for _, r := range pr.rows {
		cells := []string{fmt.Sprintf("(%d) %s", scenarioNumber(r.ID), r.Title)}
		for _, t := range tools {
			d, ok := r.Wall[t]
			switch {
			case !ok:
				cells = append(cells, "—")
			case t == "mlops":
				cells = append(cells, seconds(d))
			default:
				cells = append(cells, fmt.Sprintf("%s · **%.1f×**", seconds(d), d.med/r.Wall["mlops"].med))
			}
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")

	b.WriteString("## SSH per host and run\n\n")
	b.WriteString("From each host's sshd log (LogLevel VERBOSE): *logins* are accepted public-key authentications, *commands* are exec requests " +
		"(one per remote command or script a tool starts); median (min–max) over hosts and runs.\n\n")
	b.WriteString("| scenario | " + strings.Join(tools, " | ") + " |\n|---" + strings.Repeat("|---", len(tools)) + "|\n")
	for _, r := range pr.rows {
		if r.Hosts == 0 {
			continue
		}
		cells := []string{fmt.Sprintf("(%d) %s", scenarioNumber(r.ID), r.Title)}
		for _, t := range tools {
			if _, ok := r.Logins[t]; !ok {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, fmt.Sprintf("%g login%s, %g command%s", r.Logins[t].med, plural(int(r.Logins[t].med)),
				r.Execs[t].med, plural(int(r.Execs[t].med))))
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")

	b.WriteString("## What each tool ran\n\n| scenario | " + strings.Join(tools, " | ") + " |\n|---" + strings.Repeat("|---", len(tools)) + "|\n")
	for _, r := range pr.rows {
		cells := []string{fmt.Sprintf("(%d) %s", scenarioNumber(r.ID), r.Title)}
		for _, t := range tools {
			if c, ok := r.Command[t]; ok {
				cells = append(cells, "`"+c+"`")
			} else {
				cells = append(cells, "—")
			}
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "## How\n\n")
	for _, s := range []string{
		"**The same work.** Every tool converges the same five steps on the same kind of host: apt-get update and git, make, wget; Anaconda from the " +
			"stand-in installer (`-b -p ~/anaconda3`, sha256 checked); docker.io and ubuntu in group docker; docker-compose into ~/soft (sha256 " +
			"checked) and one PATH line in ~/.bashrc; ~/.config/mlops/env. mlops: `peerLayers` in bench/peerstacks.go; Ansible: " +
			"[bench/peers/ansible/zoomcamp.yml](../peers/ansible/zoomcamp.yml); pyinfra: [bench/peers/pyinfra/deploy.py](../peers/pyinfra/deploy.py); " +
			"OpenTofu: [bench/peers/opentofu](../peers/opentofu/) (a `terraform_data` resource per host whose `remote-exec` provisioner runs the steps as one script). " +
			"After every fresh converge by any tool, `mlops plan` of the same layers on that host must find every layer satisfied, or the bench fails.",
		fmt.Sprintf("**Hosts.** Sandbox hosts: OpenSSH in a Debian bookworm chroot on 127.0.0.x, on this machine (%d CPUs shared by the tool, "+
			"sshd and everything the host runs). Before a tool sees a host, its apt points at a loopback HTTP server holding a flat "+
			"repository of the packages (the .deb files of git, make, wget, docker.io and all they pull in, downloaded from Debian once per bench run), "+
			"its package lists are emptied and made two days old, so that every converge runs apt-get update, and python3-apt is installed "+
			"(Ubuntu's cloud images have it; Ansible's apt module needs it). "+
			"The Anaconda and docker-compose downloads come from another loopback server (stand-ins, real sha256 sums). "+
			"No tool reaches past 127.0.0.0/8 during a run.", runtime.NumCPU()),
		"**Fresh converge**: a new host for every run of every tool (the tools take turns, run by run). **No-op** scenarios: hosts converged once " +
			"by mlops; each tool then applies its own configuration once (untimed) before its runs, and every timed run must change nothing: " +
			"mlops `plan -detailed-exitcode` exits 0, `apply` says \"No changes.\"; Ansible's PLAY RECAP has changed=0; pyinfra reports no change; " +
			"tofu `plan -detailed-exitcode` exits 0, `apply` adds, changes and destroys 0.",
		fmt.Sprintf("**Parallelism**: %d hosts at once for every tool: mlops `-parallelism %d`, Ansible `forks = %d`, pyinfra `--parallel %d`, tofu `-parallelism=%d`.",
			peerForks, peerForks, peerForks, peerForks, peerForks),
		"**Each peer's speed-ups.** Ansible: pipelining on, `gather_facts: false`, `interpreter_python` set (no discovery), SSH with its defaults " +
			"(`-C -o ControlMaster=auto -o ControlPersist=60s`); each run starts without a master connection (a new control directory, closed after " +
			"the run), as after a minute idle: back-to-back runs within 60 s would save Ansible one SSH login per host. pyinfra: defaults " +
			"(paramiko, one connection per host). OpenTofu: defaults.",
		"**OpenTofu has no check mode.** Its no-op \"plan\" is `tofu plan` with no changes and its no-op apply is `tofu apply` with nothing to do: " +
			"both compare the configuration with the state file and never connect to the hosts (0 SSH logins above). They are fast because they do " +
			"not look: a host changed by hand stays wrong, and a provisioner runs only when its resource is created. mlops, Ansible and pyinfra " +
			"check every step on every host each time.",
	} {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	if len(pr.firstRun) > 0 {
		b.WriteString("- **First runs on hosts converged by mlops** (untimed):")
		for _, t := range tools {
			if c, ok := pr.firstRun[t]; ok {
				fmt.Fprintf(&b, " %s: %s.", t, c)
			}
		}
		b.WriteString("\n")
	}
	for _, r := range pr.rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "- (%d) %s\n", scenarioNumber(r.ID), r.Note)
		}
	}
	for _, n := range pr.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n")
	return b.String()
}

// scenarioNumber numbers the rows as issue 5 does: (1) fresh converge,
// (2) no-op plan, (3) no-op apply, (4) both on 10 hosts, (5) api-calls.
func scenarioNumber(id string) int {
	switch {
	case strings.HasPrefix(id, "converge-"):
		return 1
	case id == "noop-plan-1":
		return 2
	case id == "noop-apply-1":
		return 3
	case strings.HasPrefix(id, "noop-"):
		return 4
	}
	return 5
}

// writesResults reports whether a run of these scenarios writes
// RESULTS.md: the opt-in ones write files of their own and leave it alone.
func writesResults(scenarios []string) bool {
	for _, s := range scenarios {
		if contains(allScenarios, s) {
			return true
		}
	}
	return false
}
