package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// peerGoals are issue 14's goals, computed from this run's figures (the
// ratios of medians of one bench run). None is strict: they depend on the
// machine, and the report says what each one is, met or not.
func peerGoals(pr *peerReport, o options) []goal {
	var gs []goal
	rtt := o.rtts[len(o.rtts)-1]
	for _, n := range o.hosts {
		r := pr.find("check", n, rtt)
		if r == nil {
			continue
		}
		m := r.Wall["mlops"].med
		for _, c := range []struct {
			tool string
			min  float64
			what string
		}{{"Ansible", 15, "`ansible-playbook --check`"}, {ansibleTuned, 15, "tuned `ansible-playbook --check`"}, {"pyinfra", 5, "`pyinfra --dry`"}} {
			d, ok := r.Wall[c.tool]
			if !ok {
				continue
			}
			gs = append(gs, goal{
				what:   fmt.Sprintf("no-op plan at most 1/%g of %s (%d host%s, %s)", c.min, c.what, n, plural(n), rttLabel(rtt)),
				ok:     d.med >= c.min*m,
				detail: fmt.Sprintf("mlops %s, %s %s: 1/%.1f", seconds(r.Wall["mlops"]), c.tool, seconds(d), d.med/m),
			})
		}
	}
	first, last := o.hosts[0], o.hosts[len(o.hosts)-1]
	for _, x := range o.rtts {
		a, b := pr.find("check", first, x), pr.find("check", last, x)
		if a == nil || b == nil || first == last {
			continue
		}
		gs = append(gs, goal{
			what: fmt.Sprintf("no-op plan of %d hosts at most 3× one of %d host%s (%s)", last, first, plural(first), rttLabel(x)),
			ok:   b.Wall["mlops"].med <= 3*a.Wall["mlops"].med,
			detail: fmt.Sprintf("%s and %s: %.2f×; the %d hosts spent %.2f s of CPU on one plan (their sshd and the probe), "+
				"%.2f s at the least on this machine's %d CPUs, which they share", seconds(a.Wall["mlops"]), seconds(b.Wall["mlops"]),
				b.Wall["mlops"].med/a.Wall["mlops"].med, last, b.HostCPU["mlops"].med/1000, b.HostCPU["mlops"].med/1000/float64(runtime.NumCPU()), runtime.NumCPU()),
		})
	}
	if r := pr.find("check", last, rtt); r != nil {
		for _, t := range []string{"Ansible", ansibleTuned} {
			if d, ok := r.RSS[t]; ok {
				m := r.RSS["mlops"]
				gs = append(gs, goal{
					what:   fmt.Sprintf("peak memory (PSS of the process tree) of the no-op plan at most 1/5 of %s's (%d hosts, %s)", t, last, rttLabel(rtt)),
					ok:     d.med >= 5*m.med,
					detail: fmt.Sprintf("mlops %.0f MB, %s %.0f MB: 1/%.1f", m.med, t, d.med, d.med/m.med),
				})
			}
		}
	}
	return gs
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
	j, err := json.MarshalIndent(map[string]any{
		"started": pr.started.UTC().Format(time.RFC3339), "machine": environment(), "seed": pr.seed,
		"tools": pr.tools(), "versions": pr.pi.versions, "rows": pr.rows,
		"command": pr.command(o), "idle": pr.idle,
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
	if o.out == filepath.Join(w.root, "bench", "results") {
		if err := pr.updateReadme(w.root, o); err != nil {
			return err
		}
		w.logf("updated README.md's comparison table")
	}
	return nil
}

// tools are the tools that have figures, in peerTools order.
func (pr *peerReport) tools() []string {
	var tools []string
	for _, t := range peerTools {
		for _, r := range pr.rows {
			if _, ok := r.Wall[t]; ok {
				tools = append(tools, t)
				break
			}
		}
	}
	return tools
}

// command is the command line that reproduces this run.
func (pr *peerReport) command(o options) string {
	c := "go run ./bench -scenario peers"
	if o.smoke {
		c += " -smoke"
	}
	c += fmt.Sprintf(" -runs %d -warmup %d -hosts %s -rtt %s -drift-hosts %d -seed %d", o.runs, o.warmup, joinInts(o.hosts), joinInts(o.rtts), o.driftHosts, pr.seed)
	if !o.fresh {
		c += " -fresh=false"
	}
	if len(o.tools) != len(peerTools) {
		c += " -tools " + strings.Join(o.tools, ",")
	}
	return c
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ",")
}

// seconds renders milliseconds as the table shows them: "1.23 s (1.10–1.40)"
// or "240 ms (216–279)".
func seconds(d dist) string {
	if d.med >= 1000 {
		return fmt.Sprintf("%.2f s (%.2f–%.2f)", d.med/1000, d.min/1000, d.max/1000)
	}
	return d.ms()
}

// scenarioNumber numbers the rows by kind: (1) fresh converge, (2) no-op
// plan, (3) no-op apply, (4) drift found, (5) drift repaired, (6) api-calls.
func scenarioNumber(kind string) int {
	return map[string]int{"converge": 1, "check": 2, "apply": 3, "drift-check": 4, "drift-apply": 5, "api": 6}[kind]
}

func (pr *peerReport) table(b *strings.Builder, tools []string, skip func(*peerRow) bool, cell func(r *peerRow, t string) string) {
	b.WriteString("| scenario | " + strings.Join(tools, " | ") + " |\n|---" + strings.Repeat("|---", len(tools)) + "|\n")
	for _, r := range pr.rows {
		if skip != nil && skip(r) {
			continue
		}
		cells := []string{fmt.Sprintf("(%d) %s", scenarioNumber(r.Kind), r.Title)}
		for _, t := range tools {
			if _, ok := r.Wall[t]; !ok {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, cell(r, t))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

func (pr *peerReport) markdown(o options) string {
	var b strings.Builder
	tools := pr.tools()
	fmt.Fprintf(&b, "# mlops and its peers\n\n")
	fmt.Fprintf(&b, "Run of %s: `%s` (`sudo` for the sandbox hosts and the network namespace), %d timed runs after %d warm-up run(s) of each figure, "+
		"the tools in an order shuffled anew for every run (seed %d). Each figure is the median (min–max) over the timed runs.\n",
		pr.started.UTC().Format("2006-01-02 15:04 MST"), pr.command(o), o.runs, o.warmup, pr.seed)
	fmt.Fprintf(&b, "Machine: %s. Its idle share: %s.\n\n", environment(), strings.Join(pr.idle, ", "))
	fmt.Fprintf(&b, "Versions: mlops at %s; ", gitCommit())
	var vs []string
	for _, k := range []string{"Ansible", "pyinfra", "OpenTofu", "Mitogen", "Python", "paramiko (pyinfra's transport)", "OpenSSH client (Ansible's transport)"} {
		if v, ok := pr.pi.versions[k]; ok {
			vs = append(vs, fmt.Sprintf("%s: `%s`", k, v))
		}
	}
	b.WriteString(strings.Join(vs, "; ") + ".\n\n")
	b.WriteString("![wall time by scenario and tool](peers.png)\n\n")

	if len(pr.goals) > 0 {
		b.WriteString("## Goals (issue 14), from this run\n\n| goal | met | figures |\n|---|---|---|\n")
		for _, g := range pr.goals {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", g.what, map[bool]string{true: "yes", false: "**no**"}[g.ok], g.detail)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Wall time\n\n")
	b.WriteString("The wall time a user waits for: the tool's process from start to exit. The ratio is the tool's median over mlops' median: " +
		"2.0× takes twice as long as mlops, 0.5× half as long. Drift rows: *not found* / *not repaired* when the tool's run left the drift in place.\n\n")
	pr.table(&b, tools, nil, func(r *peerRow, t string) string {
		d := r.Wall[t]
		s := seconds(d)
		if t != "mlops" {
			s += fmt.Sprintf(" · **%.1f×**", d.med/r.Wall["mlops"].med)
		}
		if r.Found != nil && !r.Found[t] {
			s += map[string]string{"drift-check": " · not found", "drift-apply": " · not repaired"}[r.Kind]
		}
		return s
	})

	b.WriteString("## CPU time and memory\n\n")
	b.WriteString("*CPU*: user + system time of the tool's process tree, from wait4's rusage of the tool's process (it includes every descendant " +
		"that was waited for: Ansible's forks and their ssh clients, pyinfra's threads, OpenTofu's provider plugins; not Ansible's ControlPersist " +
		"ssh masters, which detach and outlive the run). *Memory*: the peak, over samples every 20 ms, of the summed proportional set size " +
		"(Pss, /proc/PID/smaps_rollup) of the tool's process and all its live descendants: resident memory with each page shared by several " +
		"processes (Ansible's forked workers share most of theirs with their parent) divided among them, so the sum is what the tree holds. " +
		"A process living under 20 ms can slip between samples. Median over the timed runs. " +
		"*Hosts' CPU*: what all the hosts spent on the run, summed: the user + system time of each host's sshd and of every process it reaped " +
		"(the tool's logins, their shells and commands), read from /proc before and after the run. The hosts share this machine's " +
		fmt.Sprintf("%d CPUs with the tool, so a run's wall time here cannot go below the hosts' CPU divided by %d; on a real fleet each host has its own.\n\n", runtime.NumCPU(), runtime.NumCPU()))
	pr.table(&b, tools, func(r *peerRow) bool { return r.Hosts == 0 }, func(r *peerRow, t string) string {
		return fmt.Sprintf("%s CPU, %.0f MB; hosts' CPU %s", seconds(r.CPU[t]), r.RSS[t].med, seconds(r.HostCPU[t]))
	})

	b.WriteString("## SSH per host and run\n\n")
	b.WriteString("From each host's sshd log (LogLevel VERBOSE): *logins* are accepted public-key authentications, *commands* are exec requests " +
		"(one per remote command or script a tool starts); median over hosts and runs.\n\n")
	pr.table(&b, tools, func(r *peerRow) bool { return r.Hosts == 0 }, func(r *peerRow, t string) string {
		return fmt.Sprintf("%g login%s, %g command%s", r.Logins[t].med, plural(int(r.Logins[t].med)), r.Execs[t].med, plural(int(r.Execs[t].med)))
	})

	b.WriteString("## What each tool ran\n\n")
	seen := map[string]bool{}
	pr.table(&b, tools, func(r *peerRow) bool {
		k := fmt.Sprint(r.Kind == "check" || r.Kind == "drift-check", r.Kind == "converge" || r.Kind == "api", r.Hosts == 0)
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	}, func(r *peerRow, t string) string { return "`" + r.Command[t] + "`" })

	fmt.Fprintf(&b, "## How\n\n")
	for _, s := range []string{
		"**The same work.** Every tool converges the same five steps on the same kind of host: apt-get update and git, make, wget; Anaconda from the " +
			"stand-in installer (`-b -p ~/anaconda3`, sha256 checked); docker.io and ubuntu in group docker; docker-compose into ~/soft (sha256 " +
			"checked) and one PATH line in ~/.bashrc; ~/.config/mlops/env. mlops: `peerLayers` in bench/peerstacks.go; Ansible: " +
			"[bench/peers/ansible/zoomcamp.yml](../peers/ansible/zoomcamp.yml) (13 tasks); Ansible (tuned): " +
			"[zoomcamp-tuned.yml](../peers/ansible/zoomcamp-tuned.yml) (the two apt tasks merged: 12 tasks)" + mitogenNote(pr.pi) + "; pyinfra: " +
			"[bench/peers/pyinfra/deploy.py](../peers/pyinfra/deploy.py); OpenTofu: [bench/peers/opentofu](../peers/opentofu/) (a `terraform_data` " +
			"resource per host whose `remote-exec` provisioner runs the steps as one script). After every fresh converge by any tool, " +
			"`mlops plan` of the same layers on that host must find every layer satisfied, or the bench fails.",
		"**Stand-ins.** The Anaconda installer and docker-compose are tiny stand-ins served by a loopback HTTP server (real sha256 sums, a few " +
			"kB instead of 659 MB and 25 MB): the fresh converge times leave out those downloads and Anaconda's real unpacking, for every tool alike. " +
			"The stand-in's `conda` sleeps " + condaStartup + " s before it answers, as a real `conda --version` takes 0.3–1 s to start Python, " +
			"so a tool whose check runs conda pays on every host what it would pay on a real one (it sleeps rather than burns CPU: a real " +
			"fleet's hosts have CPUs of their own, these share the controller's). No check here runs anything else of Anaconda's.",
		fmt.Sprintf("**Hosts.** Sandbox hosts: OpenSSH in a Debian bookworm chroot on 127.0.0.x, on this machine (%d CPUs shared by the tool, "+
			"sshd and everything the hosts run: on a real fleet each host has its own). Before a tool sees a host, its apt points at a loopback HTTP server holding a flat "+
			"repository of the packages (the .deb files of git, make, wget, docker.io and all they pull in, downloaded from Debian once per bench run), "+
			"its package lists are emptied and made two days old, so that every converge runs apt-get update, and python3-apt is installed "+
			"(Ubuntu's cloud images have it; Ansible's apt module needs it).", runtime.NumCPU()),
		"**Network.** *loopback*: the tools reach the hosts' sshd on 127.0.0.x directly, with no latency. *N ms RTT*: each tool runs inside a " +
			"network namespace the bench creates (`ip netns exec`) that holds only a loopback interface; a forwarder listening there on each host's " +
			"address carries each connection to the host's sshd in this machine's namespace, and no interface joins the two, so the forwarder is a " +
			"tool's only way to a host. `tc netem` on the namespace's loopback delays every packet by N/2 ms (where the kernel has no netem, the " +
			"forwarder's delay line: see below), so every byte between a tool and a host pays the delay both ways (the bench checks that reading " +
			"sshd's banner through it takes the round trips it should). All of it stays on 127.0.0.0/8. The hosts' own traffic (apt from the loopback repository during a repair) does not cross the link.",
		"**Fresh converge**: a new host for every run of every tool. **No-op** scenarios: hosts converged once " +
			"by mlops; each tool then applies its own configuration once (untimed) before its runs, and every timed run must change nothing: " +
			"mlops `plan -detailed-exitcode` exits 0, `apply` says \"No changes.\"; Ansible's PLAY RECAP has changed=0; pyinfra reports no change; " +
			"tofu `plan -detailed-exitcode` exits 0, `apply` adds, changes and destroys 0. **Drift**: before each tool's turn, on every host, " +
			"`make` is removed (dpkg -r) and ~/.config/mlops/env is overwritten; the tool's check is timed (it must report a change), then its " +
			"apply (after which `mlops plan` must find every layer satisfied again; when it does not, mlops repairs the hosts, untimed, and the " +
			"row says *not repaired*).",
		fmt.Sprintf("**Parallelism**: every host at once, at least %d, for every tool: mlops `-parallelism`, Ansible `forks`, pyinfra `--parallel`, tofu `-parallelism`.", peerForks),
		"**Each peer's speed-ups.** Ansible: pipelining on, `gather_facts: false`, `interpreter_python` set (no discovery), `timeout = 60` (the " +
			"connection timeout: with the default 10 s, a check of 50 hosts at once was refused as unreachable), SSH with its defaults " +
			"(`-C -o ControlMaster=auto -o ControlPersist=60s`); each run starts without a master connection (a new control directory, closed after " +
			"the run), as after a minute idle: back-to-back runs within 60 s would save Ansible one SSH login per host. pyinfra: defaults " +
			"(paramiko, one connection per host). OpenTofu: defaults.",
		"**OpenTofu has no check mode.** Its no-op \"plan\" is `tofu plan` with no changes and its no-op apply is `tofu apply` with nothing to do: " +
			"both compare the configuration with the state file and never connect to the hosts (0 SSH logins above). They are fast because they do " +
			"not look: a host changed by hand stays wrong (the drift rows), and a provisioner runs only when its resource is created. mlops, Ansible and pyinfra " +
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
			fmt.Fprintf(&b, "- (%d) %s\n", scenarioNumber(r.Kind), r.Note)
		}
	}
	for _, n := range pr.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n")
	return b.String()
}

func mitogenNote(pi *peerInstall) string {
	if pi.mitogen != "" {
		return ", run with Mitogen's `mitogen_linear` strategy"
	}
	return ", without Mitogen (" + pi.mitogenSkip + ")"
}

// The part of README.md between these markers is the bench's: `go run
// ./bench -scenario peers` rewrites it from the same figures as PEERS.md
// and peers.png, so that README's table cannot drift from them.
const (
	readmeBegin = "<!-- bench:peers:begin (written by go run ./bench -scenario peers) -->"
	readmeEnd   = "<!-- bench:peers:end -->"
)

// readmeTable is README's summary: the charted rows' medians, then CPU,
// memory and SSH commands of the no-op check at the largest size.
func (pr *peerReport) readmeTable(o options) string {
	tools := pr.tools()
	var b strings.Builder
	fmt.Fprintf(&b, "Figures of %s, `%s`: medians of %d run(s) after %d warm-up run(s); the machine's idle share: %s.\n\n",
		pr.started.UTC().Format("2006-01-02 15:04 MST"), pr.command(o), o.runs, o.warmup, strings.Join(pr.idle, ", "))
	b.WriteString("| | " + strings.Join(tools, " | ") + " |\n| ---" + strings.Repeat(" | ---", len(tools)) + " |\n")
	med := func(d dist) string {
		if d.med >= 1000 {
			return fmt.Sprintf("%.2f s", d.med/1000)
		}
		return fmt.Sprintf("%.0f ms", d.med)
	}
	line := func(title string, cell func(t string) string) {
		cells := []string{title}
		for _, t := range tools {
			cells = append(cells, cell(t))
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	for _, r := range pr.rows {
		if !r.Chart {
			continue
		}
		line(r.Title, func(t string) string {
			d, ok := r.Wall[t]
			if !ok {
				return "—"
			}
			s := med(d)
			if r.Logins[t].max == 0 && r.Hosts > 0 {
				s += "\\*"
			}
			if r.Found != nil && !r.Found[t] {
				s += map[string]string{"drift-check": " (not found)", "drift-apply": " (not repaired)"}[r.Kind]
			}
			return s
		})
	}
	last, rtt := o.hosts[len(o.hosts)-1], o.rtts[len(o.rtts)-1]
	if r := pr.find("check", last, rtt); r != nil {
		line(fmt.Sprintf("CPU time, no-op check, %d hosts", last), func(t string) string { return med(r.CPU[t]) })
		line(fmt.Sprintf("peak memory (PSS of the process tree), no-op check, %d hosts", last), func(t string) string { return fmt.Sprintf("%.0f MB", r.RSS[t].med) })
		line(fmt.Sprintf("hosts' CPU time (their sshd and what it ran), no-op check, %d hosts", last), func(t string) string { return med(r.HostCPU[t]) })
		line("SSH commands per host in a no-op check", func(t string) string {
			if r.Logins[t].max == 0 {
				return "none\\*"
			}
			return fmt.Sprintf("%g", r.Execs[t].med)
		})
	}
	return b.String()
}

// updateReadme rewrites README's part between the markers; a README
// without them is left alone.
func (pr *peerReport) updateReadme(root string, o options) error {
	path := filepath.Join(root, "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return nil
	}
	s = s[:i+len(readmeBegin)] + "\n" + pr.readmeTable(o) + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
