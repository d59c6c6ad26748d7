package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/state"
)

// The tests in this file extend the SIGKILL sweep of a first apply
// (TestCrashSweep) and the fault runs (TestFaultsConverge) to the other
// operations that change EC2: destroy, a replacement, a stop, a start, and
// a first apply whose state lives in S3 (every state write and the lock are
// requests the proxy sees). Each kill is followed by the same operation
// again, which must leave exactly the wanted objects, recorded, with
// nothing left to plan.

// sweepConfig is an instance with its key pair and security group; the
// variables drive a replacement (ami), a stop and a start (running).
const sweepConfig = `
variable "ami"     { default = "ami-0a1b2c3d4e5f60718" }
variable "running" { default = true }
provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/k.pem"
}
resource "aws_security_group" "g" {
  name = "g"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_instance" "m" {
  ami             = var.ami
  instance_type   = "t3.micro"
  key_pair        = aws_key_pair.k.name
  security_groups = [aws_security_group.g.id]
  running         = var.running
}
output "id" { value = aws_instance.m.id }
`

const newAMI = "ami-0b2c3d4e5f6071829"

var sweepAddrs = []string{"aws_instance.m", "aws_key_pair.k", "aws_security_group.g"}

// sweepCase is one operation to kill at every request.
type sweepCase struct {
	name  string
	s3    bool       // the state lives in S3, its traffic through the proxy
	setup [][]string // commands run before, without the proxy
	op    []string   // the operation swept (and rerun to recover)
	want  []string   // the addresses that must exist afterwards
	// instance checks the one instance afterwards ("" state: no check).
	ami, instanceState string
}

func sweepCases() []sweepCase {
	apply := []string{"apply", "-auto-approve", "-parallelism=1"}
	with := func(args ...string) []string { return append(append([]string{}, apply...), args...) }
	return []sweepCase{
		{name: "destroy", setup: [][]string{apply}, op: []string{"destroy", "-auto-approve", "-parallelism=1"}},
		{name: "replace", setup: [][]string{apply}, op: with("-var", "ami="+newAMI), want: sweepAddrs, ami: newAMI, instanceState: "running"},
		{name: "stop", setup: [][]string{apply}, op: with("-var", "running=false"), want: sweepAddrs, instanceState: "stopped"},
		{name: "start", setup: [][]string{apply, with("-var", "running=false")}, op: apply, want: sweepAddrs, instanceState: "running"},
		{name: "s3_apply", s3: true, op: apply, want: sweepAddrs, instanceState: "running"},
	}
}

// sweepStack prepares a stack for c: configuration, bucket, setup runs.
func sweepStack(t *testing.T, c sweepCase) *stack {
	t.Helper()
	s := newStack(t, nil)
	cfg := sweepConfig
	if c.s3 {
		cfg += s3Backend("") // AWS_ENDPOINT_URL: the proxy sees the state traffic
		s.createBucket()
	}
	s.writeConfig(cfg)
	for _, args := range c.setup {
		s.must(0, args...)
	}
	return s
}

// sweptState reads the state wherever c keeps it (nil: none yet), failing
// the test when it does not load.
func (s *stack) sweptState(c sweepCase, when string) *state.State {
	s.t.Helper()
	if !c.s3 {
		return s.loadableState(when)
	}
	if s.object(stateKey) == nil {
		return nil
	}
	return s.remoteState()
}

// recoverAndCheck reruns the operation after a kill (releasing the S3 lock
// the killed run left, as its user would with force-unlock) and checks
// reality.
func (s *stack) recoverAndCheck(c sweepCase, moment string) {
	s.t.Helper()
	s.sweptState(c, "after the kill "+moment)
	if c.s3 {
		if l := s.lockObject(); l != nil {
			var info state.LockInfo
			if err := json.Unmarshal(l, &info); err != nil {
				s.t.Fatalf("%s: the lock object does not load: %v", moment, err)
			}
			s.must(0, "force-unlock", info.ID)
		}
	}
	r := s.run(c.op...)
	if r.code != 0 {
		s.t.Fatalf("%s: %s after the kill: %s", moment, strings.Join(c.op, " "), r)
	}
	st := s.sweptState(c, "after recovery")
	if st == nil {
		st = state.New("")
	}
	s.checkExactly(st, c.want...)
	if c.instanceState != "" {
		live := s.liveInstances()
		if len(live) != 1 {
			s.t.Fatalf("%s: %d instances after recovery", moment, len(live))
		}
		i := live[0]
		if got := string(i.State.Name); got != c.instanceState {
			s.t.Errorf("%s: instance %s is %s, want %s", moment, awssdk.ToString(i.InstanceId), got, c.instanceState)
		}
		if c.ami != "" && awssdk.ToString(i.ImageId) != c.ami {
			s.t.Errorf("%s: instance runs %s, want %s", moment, awssdk.ToString(i.ImageId), c.ami)
		}
	}
	planArgs := []string{"plan", "-detailed-exitcode"}
	if c.op[0] == "destroy" {
		planArgs = append(planArgs, "-destroy")
	}
	for _, a := range c.op {
		if strings.HasPrefix(a, "ami=") || strings.HasPrefix(a, "running=") {
			planArgs = append(planArgs, "-var", a)
		}
	}
	if r := s.run(planArgs...); r.code != 0 {
		s.t.Errorf("%s: plan after recovery is not empty: %s", moment, r)
	}
	if c.s3 {
		s.checkUnlocked(moment + ": after recovery")
	}
}

// TestCrashSweepLifecycle kills each operation before every request it
// sends and after every answer, then recovers. Every boundary is swept:
// the five sweeps together make about 120 kills and take about a minute.
func TestCrashSweepLifecycle(t *testing.T) {
	for _, c := range sweepCases() {
		t.Run(c.name, func(t *testing.T) {
			// A clean run counts the requests.
			s := sweepStack(t, c)
			p := testworld.StartFaultProxy(t, s.moto.Endpoint())
			r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, c.op...)
			if r.code != 0 {
				t.Fatal(r)
			}
			n := len(p.Log())
			t.Logf("a clean %s sends %d requests: %s", c.name, n, actions(p.Log()))
			if n < 3 {
				t.Fatalf("only %d requests; the sweep would miss moments", n)
			}
			start := time.Now()
			for i := 1; i <= n; i++ {
				for _, when := range []string{"before", "after"} {
					t.Run(fmt.Sprintf("%s_%02d", when, i), func(t *testing.T) {
						s := sweepStack(t, c)
						p := testworld.StartFaultProxy(t, s.moto.Endpoint())
						at := func(x testworld.Exchange) bool { return x.Index == i }
						var v *victim
						if when == "before" {
							v = s.startVictim(p, at, nil, nil, c.op...)
						} else {
							v = s.startVictim(p, nil, at, nil, c.op...)
						}
						killed := v.wait()
						if killed == "" {
							t.Fatalf("%s request %d never came; the run ended:\n%s", when, i, v.out.String())
						}
						s.recoverAndCheck(c, killed)
					})
				}
			}
			t.Logf("%d kills and recoveries in %v", 2*n, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestFaultsConvergeLifecycle injects API faults (5xx, throttling, resets,
// lost answers, delays; seeded) into every request, state traffic in S3
// included, while the stack goes through a replacement, a stop, a start
// and a destroy: each operation converges within a few attempts and leaves
// exactly the wanted objects.
func TestFaultsConvergeLifecycle(t *testing.T) {
	for seed := uint64(11); seed <= 13; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			c := sweepCase{s3: true}
			s := sweepStack(t, c)
			s.must(0, "apply", "-auto-approve")
			p := testworld.StartFaultProxy(t, s.moto.Endpoint())
			p.SetFaults(testworld.Faults{Rate: 0.25, Seed: seed, Delay: 30 * time.Millisecond})
			env := []string{"AWS_ENDPOINT_URL=" + p.URL()}
			steps := []struct {
				args          []string
				want          []string
				instanceState string
			}{
				{[]string{"apply", "-auto-approve", "-var", "ami=" + newAMI}, sweepAddrs, "running"},
				{[]string{"apply", "-auto-approve", "-var", "ami=" + newAMI, "-var", "running=false"}, sweepAddrs, "stopped"},
				{[]string{"apply", "-auto-approve", "-var", "ami=" + newAMI}, sweepAddrs, "running"},
				{[]string{"destroy", "-auto-approve"}, nil, ""},
			}
			for _, step := range steps {
				ok := false
				for attempt := 1; attempt <= 5 && !ok; attempt++ {
					r := s.runEnv(env, step.args...)
					if r.code == 0 {
						ok = true
						t.Logf("%-60s ok on attempt %d", strings.Join(step.args, " "), attempt)
						break
					}
					t.Logf("%-60s attempt %d failed: %s", strings.Join(step.args, " "), attempt, lastError(r))
					s.sweptState(c, "after a failed run")
					if l := s.lockObject(); l != nil {
						// A run whose unlock request was lost leaves the
						// lock; its user removes it.
						var info state.LockInfo
						json.Unmarshal(l, &info)
						s.runEnv(env, "force-unlock", info.ID)
					}
				}
				if !ok {
					t.Fatalf("mlops %s did not converge in 5 attempts", strings.Join(step.args, " "))
				}
				st := s.sweptState(c, "after "+step.args[0])
				s.checkExactly(st, step.want...)
				if step.instanceState != "" {
					live := s.liveInstances()
					if len(live) != 1 || string(live[0].State.Name) != step.instanceState || awssdk.ToString(live[0].ImageId) != newAMI {
						t.Fatalf("after %v: instances %v", step.args, describe(live))
					}
				}
			}
			t.Logf("%d requests, faulted: %v", len(p.Log()), p.Faulted())
		})
	}
}

func describe(is []ec2types.Instance) []string {
	var out []string
	for _, i := range is {
		out = append(out, awssdk.ToString(i.InstanceId)+" "+awssdk.ToString(i.ImageId)+" "+string(i.State.Name))
	}
	return out
}
