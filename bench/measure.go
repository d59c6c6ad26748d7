package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// sample is one timed run with what it cost the peers.
type sample struct {
	wall  time.Duration
	calls map[string]int
	api   time.Duration // EC2 API busy time
	// apiParallel is the most EC2 requests in flight at once.
	apiParallel int
	// Per host, in host order: SSH logins, and exec requests (sessions
	// running a command: remote round trips), as sshd logged them.
	conns    []int
	sessions []int
}

type samples []sample

func (ss samples) walls() []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.wall)
	}
	return out
}

func (ss samples) apis() []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.api)
	}
	return out
}

// rests are the wall times minus the EC2 API busy time: mlops' own work,
// SSH included.
func (ss samples) rests() []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.wall-s.api)
	}
	return out
}

func (ss samples) parallel() []int {
	var out []int
	for _, s := range ss {
		out = append(out, s.apiParallel)
	}
	return out
}

func (ss samples) calls() []map[string]int {
	var out []map[string]int
	for _, s := range ss {
		out = append(out, s.calls)
	}
	return out
}

// perHost flattens a per-host count over all runs and hosts, so that one
// host with two connections shows in the maximum.
func (ss samples) perHost(f func(sample) []int) []int {
	var out []int
	for _, s := range ss {
		out = append(out, f(s)...)
	}
	return out
}

// measure runs mlops o.warmup times untimed, then o.runs times timed;
// every run must pass check. The host counters are read before and after
// each run.
func measure(s *stack, m mode, o options, hosts []*testworld.Host, check func(result) error, args ...string) (samples, error) {
	var out samples
	for i := range o.warmup + o.runs {
		before := hostCounters(hosts)
		r, err := s.run(m, args...)
		if err != nil {
			return nil, err
		}
		if err := check(r); err != nil {
			return nil, fmt.Errorf("%s: mlops %s (%s): %v", s.name, strings.Join(args, " "), m, err)
		}
		after := settledHostCounters(hosts)
		if i < o.warmup {
			continue
		}
		smp := sample{wall: r.wall, calls: r.calls, api: r.api, apiParallel: r.apiParallel}
		for j := range hosts {
			smp.conns = append(smp.conns, after[j].conns-before[j].conns)
			smp.sessions = append(smp.sessions, after[j].sessions-before[j].sessions)
		}
		out = append(out, smp)
	}
	return out, nil
}

type counters struct {
	conns, sessions int
	cpu             time.Duration // the host's CPU time (testworld.Host.CPUTime)
}

// hostCounters reads sshd's log of each host, and its CPU time. At
// LogLevel VERBOSE sshd logs "Accepted publickey for" per login and
// "Starting session: command" per exec request.
func hostCounters(hosts []*testworld.Host) []counters {
	out := make([]counters, len(hosts))
	for i, h := range hosts {
		log := h.SSHDLog()
		out[i] = counters{
			conns:    strings.Count(log, "Accepted publickey for "),
			sessions: strings.Count(log, "Starting session: "),
			cpu:      h.CPUTime(),
		}
	}
	return out
}

// settledHostCounters reads the counters once sshd's log has stopped
// growing: sshd writes some lines from its monitor process, a moment after
// the client has moved on.
func settledHostCounters(hosts []*testworld.Host) []counters {
	if len(hosts) == 0 {
		return nil
	}
	prev := hostCounters(hosts)
	deadline := time.Now().Add(2 * time.Second)
	for stable := 0; stable < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		cur := hostCounters(hosts)
		if equalCounters(prev, cur) {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
	return prev
}

func equalCounters(a, b []counters) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
