// Command bench measures mlops against the local test world (a moto server
// for EC2, OpenSSH sandbox hosts for the machines, a loopback download
// server) and prints the figures as a Markdown table. It is a benchmark, not
// a test: it reports wall times and counts, and fails only when mlops itself
// fails or a no-op run turns out not to be one (and, in -smoke mode, when a
// count that must stay fixed moves).
//
//	go run ./bench                          # every scenario, 5 runs each
//	go run ./bench -scenario api-calls      # one scenario
//	go run ./bench -smoke                   # CI: api-calls, N=1, one run
//
// The hosts scenario needs root (sandbox hosts mount overlays and chroot).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:])) }

// options are the command line, parsed before anything runs.
type options struct {
	scenarios []string
	runs      int
	warmup    int
	out       string // "" = write no files
	smoke     bool
	profile   bool
	binary    bool // also time the built binary (process start included)
	sizes     []int
	hosts     []int
	// The peers scenario's own: round trips (0: loopback), the fleet size
	// of the drift scenario, whether to time fresh converges, the tools,
	// and the seed of their order.
	rtts       []int
	driftHosts int
	fresh      bool
	tools      []string
	seed       uint64
}

var allScenarios = []string{scenarioAPICalls, scenarioHosts}

// optInScenarios run only when named: they are not part of "all".
var optInScenarios = []string{scenarioPeers}

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scenario := fs.String("scenario", "all", "scenario to run: "+strings.Join(allScenarios, ", ")+" or all; or "+strings.Join(optInScenarios, ", "))
	runs := fs.Int("runs", 5, "timed runs per figure (after the warm-up runs)")
	warmup := fs.Int("warmup", 1, "untimed warm-up runs before the timed runs of each figure")
	out := fs.String("out", "", "directory for RESULTS.md and PROFILE.md (default bench/results; with -smoke, none)")
	smoke := fs.Bool("smoke", false, "quick check for CI: one scenario (api-calls unless -scenario), one run, N=1 and N=10 (the two smallest -n)")
	profile := fs.Bool("profile", true, "CPU- and allocation-profile the no-op plan and write PROFILE.md")
	binary := fs.Bool("binary", true, "also time the mlops binary (a fresh process per run), not only command.Main in-process")
	sizes := fs.String("n", "1,10,50", "api-calls: numbers of aws_instance resources")
	hosts := fs.String("hosts", "1,10", "noop-plan-hosts: numbers of hosts (peers: 1,10,25,50 unless given)")
	rtts := fs.String("rtt", "0,25,50", "peers: network round trips in ms between the tools and the hosts (0: loopback, no namespace)")
	driftHosts := fs.Int("drift-hosts", 10, "peers: hosts of the drift scenario (0: none)")
	fresh := fs.Bool("fresh", true, "peers: time a fresh converge of one host")
	tools := fs.String("tools", strings.Join(peerTools, ","), "peers: the tools to compare (mlops always)")
	seed := fs.Uint64("seed", 0, "peers: seed of the tools' order (0: from the clock; the report prints it)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o := options{runs: *runs, warmup: *warmup, out: *out, smoke: *smoke, profile: *profile, binary: *binary,
		driftHosts: *driftHosts, fresh: *fresh, seed: *seed}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano()%1_000_000) + 1
	}
	hostsSet := false
	fs.Visit(func(f *flag.Flag) { hostsSet = hostsSet || f.Name == "hosts" })
	if !hostsSet && strings.Contains(*scenario, scenarioPeers) {
		*hosts = "1,10,25,50"
	}
	for _, t := range strings.Split(*tools, ",") {
		if !contains(peerTools, t) {
			return options{}, fmt.Errorf("-tools: unknown tool %q (have %s)", t, strings.Join(peerTools, ", "))
		}
		o.tools = append(o.tools, t)
	}
	var err error
	if o.rtts, err = intList0(*rtts); err != nil {
		return o, fmt.Errorf("-rtt: %v", err)
	}
	sort.Ints(o.rtts)
	if o.sizes, err = intList(*sizes); err != nil {
		return o, fmt.Errorf("-n: %v", err)
	}
	if o.hosts, err = intList(*hosts); err != nil {
		return o, fmt.Errorf("-hosts: %v", err)
	}
	switch {
	case *scenario == "all" && o.smoke:
		o.scenarios = []string{scenarioAPICalls}
	case *scenario == "all":
		o.scenarios = allScenarios
	default:
		for _, s := range strings.Split(*scenario, ",") {
			if !contains(allScenarios, s) && !contains(optInScenarios, s) {
				return o, fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(append(allScenarios, optInScenarios...), ", "))
			}
			o.scenarios = append(o.scenarios, s)
		}
	}
	sort.Ints(o.sizes)
	sort.Ints(o.hosts)
	if o.runs < 1 {
		return o, fmt.Errorf("-runs must be at least 1")
	}
	if o.smoke {
		if len(o.scenarios) > 1 {
			o.scenarios = o.scenarios[:1]
		}
		o.runs, o.warmup, o.profile = 1, 0, false
		// Two instance counts (the smallest two), so that "EC2 calls do
		// not grow with N" is checked; one host size.
		o.sizes, o.hosts = o.sizes[:min(2, len(o.sizes))], o.hosts[:1]
		o.rtts = o.rtts[len(o.rtts)-1:]
		o.driftHosts = min(o.driftHosts, 1)
	}
	if o.out == "" && !o.smoke {
		root, err := repoRoot()
		if err != nil {
			return o, err
		}
		o.out = filepath.Join(root, "bench", "results")
	}
	return o, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// intList0 is intList that also takes 0.
func intList0(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a number of 0 or more", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func run(args []string) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
	w, err := startWorld(o, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer w.stop()
	// On SIGINT or SIGTERM the sandbox hosts and the network namespace go
	// too: nothing of a run outlives it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		logf("%v: stopping", s)
		w.stop()
		os.Exit(1)
	}()

	rep := &report{started: time.Now(), opts: o}
	failed := false
	for _, s := range o.scenarios {
		start := time.Now()
		logf("scenario %s", s)
		var err error
		switch s {
		case scenarioAPICalls:
			err = benchAPICalls(w, o, rep)
		case scenarioHosts:
			err = benchHosts(w, o, rep)
		case scenarioPeers:
			err = benchPeers(w, o) // writes PEERS.md, peers.json, peers.png
		}
		if err != nil {
			logf("scenario %s failed: %v", s, err)
			rep.failures = append(rep.failures, fmt.Sprintf("%s: %v", s, err))
			failed = true
			continue
		}
		logf("scenario %s done in %v", s, time.Since(start).Round(time.Second))
	}
	if o.smoke {
		for _, g := range rep.goals {
			if g.strict && !g.ok {
				rep.failures = append(rep.failures, "goal missed: "+g.what)
				failed = true
			}
		}
	}

	md := rep.markdown(environment())
	fmt.Print(md)
	if o.out != "" && writesResults(o.scenarios) {
		if err := os.MkdirAll(o.out, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(o.out, "RESULTS.md"), []byte(md), 0o644)
		}
		if err != nil {
			logf("writing results: %v", err)
			return 1
		}
		if rep.profile != "" {
			if err := writeProfile(filepath.Join(o.out, "PROFILE.md"), rep.profile); err != nil {
				logf("writing profile: %v", err)
				return 1
			}
		}
		logf("wrote %s", o.out)
	}
	if failed {
		return 1
	}
	return 0
}

// environment describes the machine the figures come from.
func environment() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	commit := gitCommit()
	return fmt.Sprintf("%s, %d CPUs%s, %s, mlops at %s", cpu, runtime.NumCPU(), kernel, runtime.Version(), commit)
}
