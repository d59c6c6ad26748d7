package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// peerTools are the tools compared, mlops first.
var peerTools = []string{"mlops", "Ansible", ansibleTuned, "pyinfra", "OpenTofu"}

// condaStartup is what the stand-in conda of the peers scenario sleeps
// before it answers: a real `conda --version` starts Python and imports
// conda, 0.3 to 1 s on a cloud instance. The stand-in sleeps rather than
// burns CPU because on a real fleet each host has CPUs of its own, while
// here all sandbox hosts share the controller's.
const condaStartup = "0.5"

// slowConda is the stand-in Anaconda installer with a conda whose every
// start costs condaStartup seconds more: the stand-in conda is a Python
// program (as the real one), so it already pays for starting Python, but
// not for importing conda's packages.
func slowConda(installer []byte) ([]byte, error) {
	const anchor = "# mlops test stand-in for conda 4.12.0: --version, init bash, shell.bash hook.\nimport os\nimport sys\n"
	s := string(installer)
	if strings.Count(s, anchor) != 1 {
		return nil, fmt.Errorf("the stand-in Anaconda installer's conda program changed: cannot add its start-up cost")
	}
	s = strings.Replace(s, anchor, anchor+"import time\n\n# A real conda imports its packages first: about "+condaStartup+" s.\ntime.sleep("+condaStartup+")\n", 1)
	return []byte(s), nil
}

// delayLineNote says how the round trips were made where the kernel has
// no netem.
const delayLineNote = "This machine's kernel has no netem (CONFIG_NET_SCH_NETEM is off and it loads no modules), so the round trips " +
	"were made by the forwarder between the namespace and the hosts: it holds every chunk of bytes, either way, for half the round " +
	"trip before passing it on, and a new connection for a whole round trip (the TCP handshake) before its first byte goes on. " +
	"That is a link's latency without its bandwidth limit or TCP's slow start (small here: a no-op moves a few kB per host)."

// peerRow is one scenario of the comparison: a figure per tool.
type peerRow struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"` // converge, check, apply, drift-check, drift-apply, api
	Hosts int    `json:"hosts"`
	RTT   int    `json:"rtt_ms"`
	// Command is what each tool ran, by tool.
	Command map[string]string `json:"command"`
	// Wall is median, min and max in ms by tool; missing: not measured.
	Wall map[string]dist `json:"-"`
	// CPU is user+system ms of the tool's process tree, RSS its peak
	// memory in MB (summed PSS; see treeUsage).
	CPU, RSS map[string]dist `json:"-"`
	// HostCPU is the ms of CPU all the hosts spent on a run, summed
	// (their sshd and what it ran; see testworld.Host.CPUTime).
	HostCPU map[string]dist `json:"-"`
	// Logins and Execs are SSH logins and exec requests per host per run
	// (median over hosts and runs) by tool.
	Logins, Execs map[string]dist `json:"-"`
	// Found says, for the drift rows, whether every run of the tool found
	// (check) or repaired (apply) the drift.
	Found map[string]bool `json:"found,omitempty"`
	Runs  int             `json:"runs"`
	Chart bool            `json:"chart"`
	Note  string          `json:"note,omitempty"`
}

// MarshalJSON writes the figures in a form the chart script reads.
func (r peerRow) MarshalJSON() ([]byte, error) {
	type fig struct{ Median, Min, Max float64 }
	figs := func(m map[string]dist) map[string]fig {
		out := map[string]fig{}
		for t, d := range m {
			out[t] = fig{d.med, d.min, d.max}
		}
		return out
	}
	type plain peerRow
	// looked: whether the tool's runs logged in to the hosts at all.
	looked := map[string]bool{}
	for t, d := range r.Logins {
		looked[t] = d.max > 0
	}
	return json.Marshal(struct {
		plain
		WallMS    map[string]fig  `json:"wall_ms"`
		CPUMS     map[string]fig  `json:"cpu_ms"`
		RSSMB     map[string]fig  `json:"rss_mb"`
		HostCPUMS map[string]fig  `json:"host_cpu_ms"`
		Looked    map[string]bool `json:"looked"`
	}{plain(r), figs(r.Wall), figs(r.CPU), figs(r.RSS), figs(r.HostCPU), looked})
}

type peerReport struct {
	started  time.Time
	seed     uint64
	pi       *peerInstall
	rows     []*peerRow
	notes    []string
	goals    []goal
	firstRun map[string]string // tool -> what its first run on hosts converged by mlops changed
	idle     []string          // the machine's idle share before each part
}

func (pr *peerReport) row(id, kind, title string, hosts, rtt, runs int) *peerRow {
	r := &peerRow{ID: id, Kind: kind, Title: title, Hosts: hosts, RTT: rtt, Runs: runs, Command: map[string]string{},
		Wall: map[string]dist{}, CPU: map[string]dist{}, RSS: map[string]dist{}, HostCPU: map[string]dist{},
		Logins: map[string]dist{}, Execs: map[string]dist{}}
	pr.rows = append(pr.rows, r)
	return r
}

func (pr *peerReport) find(kind string, hosts, rtt int) *peerRow {
	for _, r := range pr.rows {
		if r.Kind == kind && r.Hosts == hosts && r.RTT == rtt {
			return r
		}
	}
	return nil
}

// record adds the timed runs of one tool to a row.
func (r *peerRow) record(tool string, argv []string, runs []toolRun) {
	var walls, cpus, hostCPUs []time.Duration
	var rss []float64
	var logins, execs []int
	for _, x := range runs {
		walls = append(walls, x.wall)
		cpus = append(cpus, x.usage.cpu)
		hostCPUs = append(hostCPUs, x.hostCPU)
		rss = append(rss, float64(x.usage.rssKB)/1024)
		logins = append(logins, x.conns...)
		execs = append(execs, x.sessions...)
	}
	r.Wall[tool], r.Logins[tool], r.Execs[tool] = durations(walls), ints(logins), ints(execs)
	r.CPU[tool], r.RSS[tool], r.HostCPU[tool] = durations(cpus), distOf(rss), durations(hostCPUs)
	args := append([]string{filepath.Base(argv[0])}, argv[1:]...)
	for i, a := range args {
		if strings.HasPrefix(a, "-chdir=") {
			args[i] = "-chdir=DIR"
		}
	}
	r.Command[tool] = strings.Join(args, " ")
}

// shuffled is the tools in the order of one run: random, from the seeded
// generator, so that no tool always runs right after another's aftermath.
func shuffled(rng *rand.Rand, tools []string) []string {
	out := append([]string(nil), tools...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// benchPeers runs the comparison. Fresh converges get a new host per run
// and tool; the no-op and drift scenarios share hosts that mlops converged
// once and that each peer then applied itself once (untimed), so that every
// tool sees the state it leaves.
func benchPeers(w *world, o options) error {
	pi, err := ensurePeers(w.root, contains(o.tools, "OpenTofu"), w.logf)
	if err != nil {
		return err
	}
	dl, err := testworld.StartDownloadsServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	w.stops = append(w.stops, func() { dl.Close() })
	slow, err := slowConda(dl.Content(testworld.DownloadAnaconda))
	if err != nil {
		return err
	}
	dl.Serve(testworld.DownloadAnaconda, slow)
	pw := &peerWorld{w: w, dl: dl, pi: pi, dir: filepath.Join(w.tmp, "peers")}
	pr := &peerReport{started: time.Now(), pi: pi, firstRun: map[string]string{}, seed: o.seed}
	rng := rand.New(rand.NewPCG(o.seed, 14))
	w.logf("peers: tools run in an order shuffled with seed %d (-seed %d repeats it)", o.seed, o.seed)

	stackers := map[string]func(string, []*testworld.Host) (*toolStack, error){
		"mlops": pw.mlopsStack, "Ansible": pw.ansibleStack, ansibleTuned: pw.ansibleTunedStack,
		"pyinfra": pw.pyinfraStack, "OpenTofu": pw.tofuStack,
	}
	var tools []string
	for _, t := range peerTools {
		if t == "OpenTofu" && pi.tofu == "" {
			w.logf("OpenTofu skipped: %s", pi.tofuSkip)
			pr.notes = append(pr.notes, "OpenTofu was not measured: "+pi.tofuSkip)
			continue
		}
		if !contains(o.tools, t) {
			continue
		}
		tools = append(tools, t)
	}
	if len(tools) == 0 || tools[0] != "mlops" {
		return fmt.Errorf("-tools must include mlops: the ratios are to it")
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

	if o.fresh {
		if err := pw.freshConverges(o, pr, rng, tools, stackers, prep); err != nil {
			return err
		}
	}

	// No-op plans and applies on hosts converged once by mlops.
	maxHosts := 0
	for _, n := range o.hosts {
		maxHosts = max(maxHosts, n)
	}
	start := time.Now()
	hosts, stopHosts, err := bakedHosts(w, mirror, maxHosts)
	if err != nil {
		return err
	}
	defer stopHosts()
	w.stops = append(w.stops, stopHosts) // also on a signal
	w.logf("peers: %d sandbox hosts up in %v", maxHosts, time.Since(start).Round(time.Second))
	if err := prep(hosts); err != nil {
		return err
	}
	type sized struct {
		n      int
		stacks map[string]*toolStack
	}
	var sizes []sized
	var all []*toolStack
	stacksFor := func(tag string, n int) (map[string]*toolStack, error) {
		m := map[string]*toolStack{}
		for _, t := range tools {
			s, err := stackers[t](fmt.Sprintf("%s%d", tag, n), hosts[:n])
			if err != nil {
				return nil, err
			}
			if err := s.init(); err != nil {
				return nil, err
			}
			m[t] = s
			all = append(all, s)
		}
		return m, nil
	}
	for _, n := range o.hosts {
		m, err := stacksFor("noop", n)
		if err != nil {
			return err
		}
		sizes = append(sizes, sized{n: n, stacks: m})
	}
	big := sizes[len(sizes)-1]
	start = time.Now()
	w.logf("peers: converging %d hosts with mlops (not timed)", maxHosts)
	r, err := big.stacks["mlops"].run(big.stacks["mlops"].apply)
	if err == nil {
		err = big.stacks["mlops"].converged(r)
	}
	if err != nil {
		return err
	}
	pr.notes = append(pr.notes, fmt.Sprintf("The no-op and drift scenarios ran on %d hosts started from a copy of one host on which apt "+
		"had installed git, make, wget and docker.io, then converged once by mlops (%v with the copy, not timed); every tool then applied its own "+
		"configuration once, untimed, before its timed runs (Ansible on the smallest size only: it keeps no state, and every timed run checks that it changed nothing).",
		maxHosts, time.Since(start).Round(time.Second)))
	// Every stack's first apply, untimed: tofu records its resources (and
	// runs its script, which finds nothing to do), pyinfra stamps its apt
	// cache time. What a peer's first run changed is reported. The largest
	// stack goes first, so that its first run is every host's first.
	// Ansible keeps no state and its first run on these hosts changes
	// nothing (every timed run checks changed=0), so it gets a first run on
	// the smallest size only: on 50 hosts it would cost minutes.
	for i := range sizes {
		sz := sizes[len(sizes)-1-i]
		for _, t := range tools {
			if strings.HasPrefix(t, "Ansible") && sz.n != sizes[0].n {
				continue
			}
			s := sz.stacks[t]
			r, err := s.run(s.apply)
			if err == nil {
				err = s.converged(r)
			}
			if err != nil {
				return err
			}
			if (sz.n == big.n || strings.HasPrefix(t, "Ansible")) && t != "mlops" {
				pr.firstRun[t] = firstRunChanges(t, r)
			}
		}
	}

	driftN := min(o.driftHosts, maxHosts)
	var drift map[string]*toolStack
	for _, sz := range sizes {
		if sz.n == driftN {
			drift = sz.stacks
		}
	}
	if drift == nil && driftN > 0 {
		if drift, err = stacksFor("drift", driftN); err != nil {
			return err
		}
		for _, t := range tools {
			if _, err := drift[t].run(drift[t].apply); err != nil {
				return err
			}
		}
	}

	for k, rtt := range o.rtts {
		var link *farLink
		if rtt > 0 {
			if link, err = newFarLink(rtt, hosts, w.logf); err != nil {
				return fmt.Errorf("the %d ms link: %v", rtt, err)
			}
			w.stops = append(w.stops, link.close) // also on a signal
			how := "tc netem"
			if link.userDelay {
				how = "the forwarder's delay line (this kernel has no netem)"
			}
			w.logf("peers: network namespace %s, %d ms RTT by %s", link.name, rtt, how)
			if link.userDelay && !contains(pr.notes, delayLineNote) {
				pr.notes = append(pr.notes, delayLineNote)
			}
		}
		for _, s := range all {
			s.link = link
		}
		err := func() error {
			if link != nil {
				defer link.close()
			}
			idle := waitQuiet(60*time.Second, w.logf)
			pr.idle = append(pr.idle, fmt.Sprintf("%.0f%% before the %s runs", 100*idle, rttLabel(rtt)))
			for _, sz := range sizes {
				for _, c := range []struct{ what, title string }{
					{"check", "no-op plan / check"},
					{"apply", "no-op apply"},
				} {
					row := pr.row(fmt.Sprintf("noop-%s-%d-rtt%d", c.what, sz.n, rtt), c.what,
						fmt.Sprintf("%s, %d host%s, %s", c.title, sz.n, plural(sz.n), rttLabel(rtt)), sz.n, rtt, o.runs)
					row.Chart = k == len(o.rtts)-1
					runs := map[string][]toolRun{}
					// A tool that fails a run twice has no figure in
					// this row (the tables show "—"), the report says
					// why, and the other tools go on.
					failed := map[string]bool{}
					for i := range o.warmup + o.runs {
						for _, t := range shuffled(rng, tools) {
							if failed[t] {
								continue
							}
							s := sz.stacks[t]
							argv := s.argv(c.what)
							r, err := pw.noOpRun(pr, s, c.what, argv, fmt.Sprintf("%s %s on %d host(s), %s", t, c.what, sz.n, rttLabel(rtt)))
							if err != nil {
								if t == "mlops" {
									return err
								}
								failed[t] = true
								w.logf("peers: %v\n%s", err, tail(r.stdout+r.stderr, 2500))
								pr.notes = append(pr.notes, fmt.Sprintf("No figure for %s in the row \"%s\": %s", t, row.Title, firstLine(err.Error())))
								continue
							}
							if i >= o.warmup {
								runs[t] = append(runs[t], r)
							}
						}
					}
					for _, t := range tools {
						if failed[t] {
							continue
						}
						s := sz.stacks[t]
						argv := s.argv(c.what)
						row.record(t, argv, runs[t])
						w.logf("peers: %s, %s: %s, CPU %s, memory %.0f MB", row.Title, t, row.Wall[t].ms(), row.CPU[t].ms(), row.RSS[t].med)
					}
				}
			}
			if k == len(o.rtts)-1 && driftN > 0 {
				return pw.driftScenario(o, pr, rng, tools, drift, hosts[:driftN], rtt, big.stacks["mlops"])
			}
			return nil
		}()
		for _, s := range all {
			s.link = nil
		}
		if err != nil {
			return err
		}
	}

	// mlops alone: a no-op plan of N instances against the EC2 API. Its
	// failure (moto under load) costs this row only, not the run's figures.
	if err := pw.apiRow(o, pr); err != nil {
		w.logf("peers: the api-calls row failed: %v", err)
		pr.notes = append(pr.notes, fmt.Sprintf("The api-calls row (mlops alone against moto) failed in this run: %s; "+
			"`go run ./bench -scenario api-calls` measures it (RESULTS.md).", firstLine(err.Error())))
	}

	pr.goals = peerGoals(pr, o)
	return pr.write(w, o)
}

// noOpRun times one no-op run of s. A run that fails (the tool exits with
// an error, or changes something) is run once more, and the report's notes
// say so with the first failure: over an hour of runs one flake should not
// cost every figure, and it must not go unsaid either. A second failure
// ends the bench.
func (pw *peerWorld) noOpRun(pr *peerReport, s *toolStack, what string, argv []string, label string) (toolRun, error) {
	var first error
	for try := 0; ; try++ {
		settle()
		r, err := s.run(argv)
		if err == nil {
			err = s.noOp(what, r)
		}
		if err == nil {
			if first != nil {
				pr.notes = append(pr.notes, fmt.Sprintf("One run of %s failed and was run again (the figures have the second): %s",
					label, firstLine(first.Error())))
			}
			return r, nil
		}
		if try == 1 {
			return r, fmt.Errorf("%s failed twice: %v (the first time: %v)", label, err, first)
		}
		first = err
		pw.w.logf("peers: %s failed, running it once more: %v\n%s", label, err, tail(r.stdout+r.stderr, 2500))
	}
}

// freshConverges is scenario (1): a fresh converge of one host, a new host
// for every run of every tool, the tools taking turns in a shuffled order.
func (pw *peerWorld) freshConverges(o options, pr *peerReport, rng *rand.Rand, tools []string,
	stackers map[string]func(string, []*testworld.Host) (*toolStack, error), prep func([]*testworld.Host) error) error {
	w := pw.w
	fresh := pr.row("converge-1", "converge", "fresh converge, 1 host, loopback", 1, 0, o.runs)
	fresh.Chart = true
	freshRuns := map[string][]toolRun{}
	freshArgv := map[string][]string{}
	for i := range o.warmup + o.runs {
		for _, t := range shuffled(rng, tools) {
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
	return nil
}

// driftCommands break two things on a converged host, as a hand on the
// machine might: a package of the apt layer removed (make: nothing else
// installed depends on it) and the file layer's file changed.
const driftCommands = `dpkg -r make >/dev/null 2>&1
printf 'MLFLOW_TRACKING_URI=http://changed-by-hand:5000\n' >/home/ubuntu/.config/mlops/env`

// driftScenario times how long each tool takes to find drift (its check)
// and to repair it (its apply). Before each tool's turn every host is
// drifted again; after it, mlops' plan must find every layer satisfied.
// A tool that does not find or repair the drift (OpenTofu reads its state
// only) is reported so, and the hosts are repaired by mlops, untimed,
// before the next tool.
func (pw *peerWorld) driftScenario(o options, pr *peerReport, rng *rand.Rand, tools []string,
	stacks map[string]*toolStack, hosts []*testworld.Host, rtt int, repair *toolStack) error {
	w := pw.w
	n := len(hosts)
	rows := map[string]*peerRow{}
	for _, c := range []struct{ what, title string }{{"check", "drift: time to find it (plan / check)"}, {"apply", "drift: time to repair it (apply)"}} {
		r := pr.row(fmt.Sprintf("drift-%s-%d-rtt%d", c.what, n, rtt), "drift-"+c.what,
			fmt.Sprintf("%s, %d host%s, %s", c.title, n, plural(n), rttLabel(rtt)), n, rtt, o.runs)
		r.Found, r.Chart = map[string]bool{}, true
		rows[c.what] = r
	}
	runs := map[string]map[string][]toolRun{"check": {}, "apply": {}}
	for _, t := range tools {
		rows["check"].Found[t], rows["apply"].Found[t] = true, true
	}
	for i := range o.warmup + o.runs {
		for _, t := range shuffled(rng, tools) {
			for _, h := range hosts {
				if _, err := h.Shell(driftCommands); err != nil {
					return fmt.Errorf("drifting %s: %v", h.Addr, err)
				}
			}
			s := stacks[t]
			settle()
			for _, what := range []string{"check", "apply"} {
				argv := s.argv(what)
				r, err := s.run(argv)
				if err != nil {
					return err
				}
				changed, err := s.changes(what, r)
				if err != nil {
					return fmt.Errorf("drift, %s %s: %v", t, what, err)
				}
				if what == "check" && changed == 0 {
					rows["check"].Found[t] = false
				}
				if i >= o.warmup {
					runs[what][t] = append(runs[what][t], r)
				}
			}
			if err := pw.mlopsAgrees(hosts); err != nil {
				rows["apply"].Found[t] = false
				w.logf("peers: drift, %s did not repair the hosts (%v); mlops repairs them, untimed", t, err)
				r, err := repair.run(repair.apply)
				if err == nil {
					err = repair.converged(r)
				}
				if err == nil {
					err = pw.mlopsAgrees(hosts)
				}
				if err != nil {
					return fmt.Errorf("drift: repairing the hosts after %s: %v", t, err)
				}
			}
		}
	}
	for _, what := range []string{"check", "apply"} {
		for _, t := range tools {
			s := stacks[t]
			argv := s.argv(what)
			rows[what].record(t, argv, runs[what][t])
			w.logf("peers: %s, %s: %s (found: %v)", rows[what].Title, t, rows[what].Wall[t].ms(), rows[what].Found[t])
		}
	}
	return nil
}

// apiRow is the api-calls row: a no-op plan of N aws_instance in moto.
func (pw *peerWorld) apiRow(o options, pr *peerReport) error {
	w := pw.w
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
	api := pr.row(fmt.Sprintf("api-calls-%d", n), "api", fmt.Sprintf("no-op plan, %d aws_instance (EC2 API in moto)", n), 0, 0, o.runs)
	api.Wall["mlops"] = durations(ss.walls())
	api.Command["mlops"] = "mlops plan -detailed-exitcode"
	api.Note = fmt.Sprintf("mlops only: no peer here manages EC2 (OpenTofu's AWS provider comes from its registry, which this machine cannot reach; "+
		"Ansible's amazon.aws and pyinfra were not set up for it). %s EC2 calls per plan.", totals(ss.calls()).count())

	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
