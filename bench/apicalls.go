package main

import (
	"fmt"
	"strings"
	"time"
)

const scenarioAPICalls = "api-calls"

// apiConfig is N aws_instance resources sharing one key pair and one
// security group, no layers (so no SSH), as N generated resource blocks:
// the configuration language has no count.
func apiConfig(n int) string {
	var b strings.Builder
	b.WriteString(`provider "aws" { region = "eu-west-1" }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "bench" {
  name             = "bench"
  private_key_file = "~/.ssh/bench.pem"
}

resource "aws_security_group" "ssh" {
  name        = "bench-ssh"
  description = "SSH in"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`)
	for i := range n {
		fmt.Fprintf(&b, `
resource "aws_instance" "m%03d" {
  ami             = data.aws_ami.ubuntu.id
  instance_type   = "t2.micro"
  key_pair        = aws_key_pair.bench.name
  security_groups = [aws_security_group.ssh.id]
  tags            = { Name = "bench-%03d" }
}
`, i, i)
	}
	return b.String()
}

// benchAPICalls applies N instances once, then times no-op plans and counts
// their EC2 calls. The goal: the count does not grow with N.
func benchAPICalls(w *world, o options, rep *report) error {
	t := table{
		title: "api-calls: no-op `mlops plan` with N aws_instance resources (moto)",
		intro: "One key pair, one security group, N instances, no layers. Applied once (not timed), then " +
			"`mlops plan -detailed-exitcode` must exit 0 (no changes). EC2 calls are every HTTP request to the EC2 API, retries included. " +
			"*of which EC2 API* is the time during which at least one EC2 request was in flight (waiting for moto); *the rest* is wall time minus that: mlops' own work. " +
			"*Most calls in flight at once* is 1 when the calls go one after another.",
		header: []string{"N", "mode", "no-op plan wall time", "of which EC2 API (moto)", "the rest (mlops)", "EC2 calls per plan", "most calls in flight at once", "calls by action"},
	}
	byN := map[int][]map[string]int{}
	var last *stack
	for _, n := range o.sizes {
		if err := w.resetMoto(); err != nil {
			return err
		}
		s, err := w.newStack(fmt.Sprintf("api-%d", n), map[string]string{"main.hcl": apiConfig(n)})
		if err != nil {
			return err
		}
		last = s
		start := time.Now()
		if _, err := s.must(inProcess, 0, "apply", "-auto-approve"); err != nil {
			return err
		}
		t.notes = append(t.notes, fmt.Sprintf("N=%d: the first apply (not timed) took %v.", n, time.Since(start).Round(10*time.Millisecond)))
		if !o.smoke {
			idle := waitQuiet(30*time.Second, w.logf)
			t.notes = append(t.notes, fmt.Sprintf("N=%d: the machine was %.0f%% idle before the timed runs.", n, 100*idle))
		}
		for _, m := range w.modes() {
			samples, err := measure(s, m, o, nil, checkNoOpPlan, "plan", "-detailed-exitcode")
			if err != nil {
				return err
			}
			calls := samples.calls()
			byN[n] = append(byN[n], calls...)
			t.rows = append(t.rows, []string{fmt.Sprint(n), string(m), durations(samples.walls()).ms(),
				durations(samples.apis()).ms(), durations(samples.rests()).ms(), totals(calls).count(),
				ints(samples.parallel()).count(), actions(calls)})
			w.logf("api-calls N=%d %s: %s, calls %s", n, m, durations(samples.walls()).ms(), actions(calls))
		}
	}
	rep.tables = append(rep.tables, t)
	if err := profileNow(w, o, rep, profileTarget{s: last, what: fmt.Sprintf("no-op `mlops plan` of %d aws_instance resources (moto)", o.sizes[len(o.sizes)-1])}); err != nil {
		return err
	}

	first, largest := o.sizes[0], o.sizes[len(o.sizes)-1]
	if len(o.sizes) > 1 {
		a, b := totals(byN[first]), totals(byN[largest])
		rep.goals = append(rep.goals, goal{
			what:   fmt.Sprintf("EC2 calls of a no-op plan do not grow with N (N=%d vs N=%d)", first, largest),
			ok:     b.max <= a.min,
			detail: fmt.Sprintf("N=%d: %s; N=%d: %s", first, a.count(), largest, b.count()),
			strict: true,
		})
	}
	var di []int
	for _, n := range o.sizes {
		for _, c := range byN[n] {
			di = append(di, c["DescribeInstances"])
		}
	}
	d := ints(di)
	rep.goals = append(rep.goals, goal{
		what:   "one DescribeInstances per plan, for all instances",
		ok:     d.min == 1 && d.max == 1,
		detail: "DescribeInstances per plan: " + d.count(),
		strict: true,
	})
	return nil
}

// checkNoOpPlan accepts a plan that found nothing to change.
func checkNoOpPlan(r result) error {
	if r.code != 0 {
		return fmt.Errorf("the plan is not a no-op: want exit 0 with -detailed-exitcode, got %s", r)
	}
	if !strings.Contains(r.stdout, "No changes.") {
		return fmt.Errorf("the plan does not say \"No changes.\": %s", r)
	}
	return nil
}

// checkNoOpApply accepts an apply that found nothing to do.
func checkNoOpApply(r result) error {
	if r.code != 0 {
		return fmt.Errorf("apply failed: %s", r)
	}
	if !strings.Contains(r.stdout, "No changes.") || strings.Contains(r.stdout, "Apply complete!") {
		return fmt.Errorf("the apply was not a no-op: %s", r)
	}
	return nil
}
