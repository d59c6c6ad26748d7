package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// dist is the median, minimum and maximum of a set of figures.
type dist struct{ med, min, max float64 }

func distOf(xs []float64) dist {
	if len(xs) == 0 {
		return dist{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return dist{med: med, min: s[0], max: s[len(s)-1]}
}

func durations(ds []time.Duration) dist {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d) / float64(time.Millisecond)
	}
	return distOf(xs)
}

func ints(is []int) dist {
	xs := make([]float64, len(is))
	for i, n := range is {
		xs[i] = float64(n)
	}
	return distOf(xs)
}

// ms renders milliseconds: "212 ms (198–240)".
func (d dist) ms() string {
	f := func(x float64) string {
		if x < 10 {
			return fmt.Sprintf("%.1f", x)
		}
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%s ms (%s–%s)", f(d.med), f(d.min), f(d.max))
}

// count renders counts: "1 (1–1)".
func (d dist) count() string {
	return fmt.Sprintf("%g (%g–%g)", d.med, d.min, d.max)
}

// table is one Markdown table with a title and notes.
type table struct {
	title  string
	intro  string
	header []string
	rows   [][]string
	notes  []string
}

// goal is a target the figures are checked against. Strict goals are
// counts that do not depend on the machine's speed; -smoke fails when one
// is missed.
type goal struct {
	what   string
	ok     bool
	detail string
	strict bool
}

type report struct {
	started  time.Time
	opts     options
	tables   []table
	goals    []goal
	failures []string
	profile  string // PROFILE.md body, "" without profiling
}

func (r *report) markdown(env string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mlops benchmarks\n\n")
	mode := fmt.Sprintf("%d timed runs after %d warm-up run(s)", r.opts.runs, r.opts.warmup)
	if r.opts.smoke {
		mode = "smoke mode: one run, the two smallest instance counts, the smallest number of hosts"
	}
	fmt.Fprintf(&b, "Run of %s (`go run ./bench%s`), %s; each figure is median (min–max) over the runs.\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), argsNote(r.opts), mode)
	fmt.Fprintf(&b, "Machine: %s.\n", env)
	fmt.Fprintf(&b, "Everything runs on 127.0.0.0/8: moto 5.2.3 stands in for EC2, OpenSSH in Debian chroots for the hosts. "+
		"*in-process* is `command.Main` called in the bench process (an injected counting HTTP client counts EC2 calls; no process start, warm package caches); "+
		"*binary* is the built `mlops` run as a new process each time (EC2 calls counted by a loopback proxy in front of moto), which is what a user waits for.\n\n")
	for _, t := range r.tables {
		fmt.Fprintf(&b, "## %s\n\n", t.title)
		if t.intro != "" {
			fmt.Fprintf(&b, "%s\n\n", t.intro)
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(t.header, " | "))
		seps := make([]string, len(t.header))
		for i := range seps {
			seps[i] = "---"
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(seps, " | "))
		for _, row := range t.rows {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
		}
		b.WriteString("\n")
		for _, n := range t.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(t.notes) > 0 {
			b.WriteString("\n")
		}
	}
	if len(r.goals) > 0 {
		fmt.Fprintf(&b, "## Goals\n\n| goal | met | figures |\n| --- | --- | --- |\n")
		for _, g := range r.goals {
			met := "yes"
			if !g.ok {
				met = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", g.what, met, g.detail)
		}
		b.WriteString("\n")
	}
	if len(r.failures) > 0 {
		fmt.Fprintf(&b, "## Failures\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", "\n  "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func argsNote(o options) string {
	var parts []string
	if o.smoke {
		parts = append(parts, "-smoke")
	}
	if len(o.scenarios) < len(allScenarios) {
		parts = append(parts, "-scenario "+strings.Join(o.scenarios, ","))
	}
	if !o.smoke && o.runs != 5 {
		parts = append(parts, fmt.Sprintf("-runs %d", o.runs))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// actions renders per-action call counts over runs, sorted by action:
// "DescribeInstances 1 · DescribeKeyPairs 1", with (min–max) where runs
// differed.
func actions(runs []map[string]int) string {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		var xs []int
		for _, r := range runs {
			xs = append(xs, r[k])
		}
		d := ints(xs)
		if d.min == d.max {
			parts = append(parts, fmt.Sprintf("%s %g", k, d.med))
		} else {
			parts = append(parts, fmt.Sprintf("%s %g (%g–%g)", k, d.med, d.min, d.max))
		}
	}
	return strings.Join(parts, " · ")
}

func totals(runs []map[string]int) dist {
	var xs []int
	for _, r := range runs {
		n := 0
		for _, v := range r {
			n += v
		}
		xs = append(xs, n)
	}
	return ints(xs)
}
