package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"
)

// profileTarget is a configuration whose no-op plan gets profiled.
type profileTarget struct {
	s    *stack
	what string
}

// profileNow profiles the no-op plan of t unless profiling is off, and
// adds the result to the report. Scenarios call it right after measuring,
// while their part of the test world is as the plan expects it.
func profileNow(w *world, o options, rep *report, t profileTarget) error {
	if !o.profile || o.out == "" {
		return nil
	}
	dir := filepath.Join(w.tmp, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	body, err := profile(w, []profileTarget{t}, dir)
	if err != nil {
		return fmt.Errorf("profiling %s: %w", t.s.name, err)
	}
	if rep.profile != "" {
		rep.profile += "\n"
	}
	rep.profile += body
	return nil
}

// profileMinIterations and profileMinTime bound the profiling loop: one
// plan is far too short for a 100 Hz CPU profile to say anything.
const (
	profileMinIterations = 10
	profileMinTime       = 6 * time.Second
)

// profile runs the no-op plan of each target in-process in a loop under
// the CPU profiler and the allocation profiler, and renders the top
// entries with `go tool pprof`. The profiles stay in dir.
func profile(w *world, targets []profileTarget, dir string) (string, error) {
	var b strings.Builder
	for i, t := range targets {
		// A warm-up run outside the profile: the first in-process run pays
		// one-time initialisation the loop would otherwise spread out.
		if _, err := t.s.must(inProcess, 0, "plan", "-detailed-exitcode"); err != nil {
			return "", err
		}
		cpuPath := filepath.Join(dir, fmt.Sprintf("%s.cpu.pprof", t.s.name))
		allocBase := filepath.Join(dir, fmt.Sprintf("%s.allocs-before.pprof", t.s.name))
		allocPath := filepath.Join(dir, fmt.Sprintf("%s.allocs.pprof", t.s.name))
		if err := writeAllocs(allocBase); err != nil {
			return "", err
		}
		f, err := os.Create(cpuPath)
		if err != nil {
			return "", err
		}
		var ru0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return "", err
		}
		start := time.Now()
		n := 0
		var wall time.Duration
		var runErr error
		for n < profileMinIterations || time.Since(start) < profileMinTime {
			r, err := t.s.must(inProcess, 0, "plan", "-detailed-exitcode")
			if err != nil {
				runErr = err
				break
			}
			wall += r.wall
			n++
		}
		pprof.StopCPUProfile()
		f.Close()
		var ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		if runErr != nil {
			return "", runErr
		}
		if err := writeAllocs(allocPath); err != nil {
			return "", err
		}
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(n)
		avg := wall / time.Duration(n)
		w.logf("profiled %s: %d plans, %v wall and %v CPU per plan", t.s.name, n, avg.Round(time.Millisecond), cpu.Round(time.Millisecond))

		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "## %s\n\n", t.what)
		fmt.Fprintf(&b, "%d no-op plans in-process (`command.Main`, the same configuration as in RESULTS.md): "+
			"**%v wall, %v CPU per plan** (user+system of the bench process, which does nothing else meanwhile; "+
			"sshd and moto run in other processes and are not in the profile).\n\n",
			n, avg.Round(time.Millisecond), cpu.Round(time.Millisecond))
		pkgs, err := flatByPackage(cpuPath)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "### CPU by package (own time, all functions)\n\n%s\n", pkgs)
		// The bench's own frames and the AWS SDK's middleware chain (dozens of
		// frames with the same cumulative time) are hidden from the
		// cumulative views; the flat view keeps everything.
		const hide = `^main\.|^runtime\.main$|smithy-go/middleware\.|aws-sdk-go-v2/aws/middleware\.|aws-sdk-go-v2/service/ec2\.\(\*[a-zA-Z]*Middleware\)|HandleFinalize|HandleSerialize|HandleDeserialize|HandleBuild|HandleInitialize`
		for _, q := range []struct {
			title, file, base string
			args              []string
		}{
			{"CPU, mlops' own functions by cumulative time", cpuPath, "", []string{"-top", "-cum", "-nodecount=40", "-show=github.com/mlops-dev/mlops/"}},
			{"CPU, all functions by cumulative time (top 40)", cpuPath, "", []string{"-top", "-cum", "-nodecount=40", "-hide=" + hide}},
			{"CPU, by own time (top 25)", cpuPath, "", []string{"-top", "-nodecount=25"}},
			{"Allocated bytes, mlops' own functions by cumulative", allocPath, allocBase, []string{"-top", "-cum", "-nodecount=30", "-sample_index=alloc_space", "-show=github.com/mlops-dev/mlops/"}},
			{"Allocated bytes, by own allocations (top 20)", allocPath, allocBase, []string{"-top", "-nodecount=20", "-sample_index=alloc_space"}},
		} {
			out, err := pprofTop(q.file, q.base, q.args...)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "### %s\n\n```\n%s```\n\n", q.title, trimPprofHeader(out))
		}
	}
	return b.String(), nil
}

func pprofTop(file, base string, args ...string) (string, error) {
	all := append([]string{"tool", "pprof"}, args...)
	if base != "" {
		all = append(all, "-base", base)
	}
	all = append(all, file)
	out, err := exec.Command("go", all...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out), nil
}

// flatByPackage sums the profile's own (flat) time by package, grouped
// into families a reader can act on, as a Markdown table.
func flatByPackage(cpuPath string) (string, error) {
	out, err := pprofTop(cpuPath, "", "-top", "-nodecount=1000000")
	if err != nil {
		return "", err
	}
	sums := map[string]float64{}
	total := 0.0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") {
			continue
		}
		flat, err := parseSeconds(f[0])
		if err != nil {
			continue
		}
		name := strings.Join(f[5:], " ")
		sums[packageFamily(name)] += flat
		total += flat
	}
	type kv struct {
		k string
		v float64
	}
	var rows []kv
	for k, v := range sums {
		rows = append(rows, kv{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].v > rows[j].v })
	var b strings.Builder
	b.WriteString("| package (family) | own CPU | share |\n| --- | --- | --- |\n")
	for _, r := range rows {
		if r.v/total < 0.005 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %.2fs | %.0f%% |\n", r.k, r.v, 100*r.v/total)
	}
	return b.String(), nil
}

func parseSeconds(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

// packageFamily maps a function name to its package, folding the runtime,
// the AWS SDK and the standard library's network code into families.
func packageFamily(fn string) string {
	pkg := fn
	slash := strings.LastIndex(fn, "/")
	if i := strings.Index(fn[slash+1:], "."); i >= 0 {
		pkg = fn[:slash+1+i]
	}
	switch {
	case strings.HasPrefix(pkg, "internal/runtime/syscall") || pkg == "syscall" || fn == "runtime.futex" || fn == "runtime.madvise" || fn == "runtime.usleep":
		return "system calls (socket and file I/O, futex, madvise)"
	case pkg == "runtime" || strings.HasPrefix(pkg, "internal/runtime") || pkg == "aeshashbody" || strings.HasPrefix(fn, "runtime"):
		return "Go runtime (allocation, GC, maps, scheduler)"
	case strings.HasPrefix(pkg, "github.com/aws/"):
		return "AWS SDK (github.com/aws/...)"
	case strings.HasPrefix(pkg, "github.com/zclconf/go-cty"):
		return "go-cty"
	case strings.HasPrefix(pkg, "github.com/hashicorp/hcl"):
		return "hcl"
	case strings.HasPrefix(pkg, "golang.org/x/crypto") || strings.HasPrefix(pkg, "crypto/"):
		return "crypto (SSH handshake and ciphers, SigV4)"
	case strings.HasPrefix(pkg, "github.com/mlops-dev/mlops/"):
		return pkg
	case strings.HasPrefix(pkg, "encoding/") || strings.HasPrefix(pkg, "reflect"):
		return "encoding/*, reflect"
	case strings.HasPrefix(pkg, "net") || pkg == "bufio" || pkg == "io" || pkg == "os" || strings.HasPrefix(pkg, "internal/poll"):
		return "net, net/http, os, io"
	}
	return "other: " + pkg
}

func writeAllocs(path string) error {
	runtime.GC() // the allocation profile is as of the last GC
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// trimPprofHeader drops the lines naming the temporary file and the build.
func trimPprofHeader(s string) string {
	var out []string
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "File: ") || strings.HasPrefix(line, "Build ID: ") || strings.HasPrefix(line, "Time: ") || strings.HasPrefix(line, "Main binary filename") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

// Hand-written findings in PROFILE.md live between these markers and
// survive a rewrite.
const (
	findingsBegin = "<!-- findings: hand-written, kept when the bench rewrites this file -->"
	findingsEnd   = "<!-- end of findings -->"
)

func writeProfile(path, body string) error {
	findings := findingsBegin + "\n## Findings\n\n(none written yet)\n" + findingsEnd
	if old, err := os.ReadFile(path); err == nil {
		if i := bytes.Index(old, []byte(findingsBegin)); i >= 0 {
			if j := bytes.Index(old[i:], []byte(findingsEnd)); j >= 0 {
				findings = string(old[i : i+j+len(findingsEnd)])
			}
		}
	}
	doc := "# Profile of a no-op `mlops plan`\n\n" +
		"Written by `go run ./bench` (see bench/README.md) on " + time.Now().UTC().Format("2006-01-02 15:04 MST") +
		"; machine: " + environment() + ".\n\n" + findings + "\n\n" + body
	return os.WriteFile(path, []byte(doc), 0o644)
}
