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
//   - rssKB is the sum, over every process of the tree seen while the tool
//     ran (the tool's process and its descendants), of that process's peak
//     resident set (VmHWM in /proc/PID/status), sampled every 20 ms. A
//     process that lives less than 20 ms can slip between two samples, and
//     growth in a process's last 20 ms is missed. wait4's ru_maxrss is not
//     used: Go starts a child with vfork semantics, and Linux then counts
//     the parent's (the bench's) peak in the child's maxrss.
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
	hwm  map[int]int64 // pid -> the largest VmHWM seen, KB
}

func sampleTree(pid int) *rssSampler {
	s := &rssSampler{root: pid, stop: make(chan struct{}), done: make(chan struct{}), hwm: map[int]int64{}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			for p, kb := range treeHWM(s.root) {
				s.mu.Lock()
				s.hwm[p] = max(s.hwm[p], kb)
				s.mu.Unlock()
			}
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
	for _, kb := range s.hwm {
		u.rssKB += kb
	}
	s.mu.Unlock()
	if ps != nil {
		u.cpu = ps.UserTime() + ps.SystemTime()
	}
	return u
}

// treeHWM reads the peak resident set (VmHWM, KB) of pid and each of its
// descendants.
func treeHWM(pid int) map[int]int64 {
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
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
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
