package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// treeUsage is what one tool run cost this machine: CPU time and memory of
// the tool's process tree.
//
//   - cpu is user+system time from wait4's rusage of the tool's process:
//     it includes every descendant the tool (or a descendant) waited for,
//     such as Ansible's forks and their ssh clients. Processes that detach
//     and outlive the run (Ansible's ControlPersist ssh masters) are not in
//     it.
//   - rssKB is the peak, over samples taken every 20 ms, of the summed
//     proportional set size (Pss in /proc/PID/smaps_rollup) of the tool's
//     process and all its live descendants: resident memory, with each page
//     shared by several processes (Ansible's forked workers share most of
//     theirs with their parent) divided among them, so that the sum is what
//     the tree holds, not a multiple of it. A process that lives less than
//     20 ms can slip between two samples. wait4's ru_maxrss is not used: it
//     is the largest single process, and Go starts a child with vfork
//     semantics, so Linux counts the parent's (the bench's) peak in it.
type treeUsage struct {
	cpu   time.Duration
	rssKB int64
}

// rssSampler samples the resident memory of a process tree until stopped.
type rssSampler struct {
	root int
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64 // KB
}

func sampleTree(pid int) *rssSampler {
	s := &rssSampler{root: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var sum int64
			for _, kb := range treePss(s.root) {
				sum += kb
			}
			s.mu.Lock()
			s.peak = max(s.peak, sum)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and reads the CPU time from the rusage of the
// waited-for process.
func (s *rssSampler) finish(ps *os.ProcessState) treeUsage {
	close(s.stop)
	<-s.done
	var u treeUsage
	s.mu.Lock()
	u.rssKB = s.peak
	s.mu.Unlock()
	if ps != nil {
		u.cpu = ps.UserTime() + ps.SystemTime()
	}
	return u
}

// treePss reads the proportional set size (Pss, KB) of pid and each of its
// descendants.
func treePss(pid int) map[int]int64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 2 {
			continue
		}
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		ppid, _ := strconv.Atoi(string(fields[1]))
		children[ppid] = append(children[ppid], p)
	}
	out := map[int]int64{}
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		queue = append(queue, children[p]...)
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("Pss:")); ok {
				f := bytes.Fields(v)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
					out[p] = kb
				}
				break
			}
		}
	}
	return out
}
