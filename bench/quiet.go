package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTimes reads the machine's total and idle CPU time (in clock ticks)
// from /proc/stat.
func cpuTimes() (total, idle uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total, idle, true
}

// idleOver returns the fraction of CPU time the machine was idle during d.
func idleOver(d time.Duration) (float64, bool) {
	t0, i0, ok := cpuTimes()
	if !ok {
		return 0, false
	}
	time.Sleep(d)
	t1, i1, ok := cpuTimes()
	if !ok || t1 == t0 {
		return 0, false
	}
	return float64(i1-i0) / float64(t1-t0), true
}

// waitQuiet flushes dirty pages (a converge leaves a lot behind) and waits,
// at most max, until the machine is at least 80% idle over one second, so
// that timings do not measure what ran before. It returns the idle
// fraction it last saw.
func waitQuiet(max time.Duration, logf func(string, ...any)) float64 {
	syscall.Sync()
	deadline := time.Now().Add(max)
	for {
		idle, ok := idleOver(time.Second)
		if !ok {
			return 0
		}
		if idle >= 0.8 || time.Now().After(deadline) {
			logf("machine %.0f%% idle before measuring", 100*idle)
			return idle
		}
	}
}
