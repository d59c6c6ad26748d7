package e2e

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file put testworld.FaultProxy between mlops and moto
// and inject the failures of a real API: 5xx errors, throttling, connection
// resets, answers lost after the request was carried out, and delays.

// ec2Only limits faults to the EC2 API.
func ec2Only(x testworld.Exchange) bool { return !strings.HasPrefix(x.Action, "S3 ") }

// TestLostRunInstancesAnswer: RunInstances reaches moto and creates the
// instance, but the connection is reset instead of the answer. The SDK's
// retry (moto ignores ClientToken) must not make a second machine.
func TestLostRunInstancesAnswer(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": coreConfig})
	p := testworld.StartFaultProxy(t, s.endpoint())
	lost := 0
	p.AfterResponse(func(x testworld.Exchange) testworld.Verdict {
		if x.Action == "RunInstances" && x.Nth == 1 {
			lost++
			return testworld.Drop
		}
		return testworld.Pass
	})
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, "apply", "-auto-approve")
	if lost != 1 {
		t.Fatalf("the RunInstances answer was not lost (%d)", lost)
	}
	t.Logf("apply with a lost RunInstances answer: exit %d; requests: %s", r.code, actions(p.Log()))
	if r.code != 0 {
		// Failing is allowed; a duplicate is not. The next apply finishes.
		r = s.must(0, "apply", "-auto-approve")
	}
	st := s.loadableState("after apply")
	s.checkExactly(st, coreAddrs...)
	s.must(0, "plan", "-detailed-exitcode")
}

func actions(log []testworld.Exchange) string {
	var b strings.Builder
	for _, x := range log {
		b.WriteString(x.Action)
		if x.Fault != "" {
			b.WriteString("[" + string(x.Fault) + "]")
		}
		b.WriteString(" ")
	}
	return b.String()
}

// TestFaultsConverge runs apply, plan and destroy with 30% of the EC2
// requests faulted (seeded), retrying each command a few times as a user
// would, and checks that the stack converges with no duplicate.
//
// The last case loses the answer of the first call of every action that
// creates or deletes something, after EC2 carried it out.
func TestFaultsConverge(t *testing.T) {
	cases := map[string]testworld.Faults{}
	for seed := uint64(1); seed <= 6; seed++ {
		cases[fmt.Sprintf("seed%d", seed)] = testworld.Faults{Rate: 0.3, Seed: seed, Delay: 50 * time.Millisecond, Only: ec2Only}
	}
	cases["lost_answers"] = testworld.Faults{Rate: 1, Kinds: []testworld.FaultKind{testworld.FaultLostResponse}, Only: func(x testworld.Exchange) bool {
		return x.Nth == 1 && regexp.MustCompile(`^(Create|Run|Import|Authorize|Terminate|Delete)`).MatchString(x.Action)
	}}
	for name, faults := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, map[string]string{"main.hcl": coreConfig})
			p := testworld.StartFaultProxy(t, s.endpoint())
			p.SetFaults(faults)
			env := []string{"AWS_ENDPOINT_URL=" + p.URL()}
			runs := func(args ...string) int {
				for i := 1; i <= 4; i++ {
					r := s.runEnv(env, args...)
					if r.code == 0 {
						t.Logf("%-28s ok on attempt %d in %v", strings.Join(args, " "), i, r.elapsed.Round(time.Millisecond))
						return i
					}
					t.Logf("%-28s attempt %d failed (exit %d) in %v: %s", strings.Join(args, " "), i, r.code, r.elapsed.Round(time.Millisecond), lastError(r))
					s.loadableState("after a failed " + args[0])
				}
				t.Fatalf("mlops %s did not converge in 4 attempts", strings.Join(args, " "))
				return 0
			}
			attempts := runs("apply", "-auto-approve")
			if name == "lost_answers" && attempts != 1 {
				// Every create whose answer was lost is found again by its
				// tags on the SDK's retry: one apply is enough.
				t.Errorf("apply with lost answers took %d attempts, want 1", attempts)
			}
			st := s.loadableState("after apply")
			s.checkExactly(st, coreAddrs...)
			runs("plan", "-detailed-exitcode")
			runs("destroy", "-auto-approve")
			s.checkExactly(s.loadableState("after destroy"))
			total := len(p.Log())
			faulted := p.Faulted()
			n := 0
			for _, c := range faulted {
				n += c
			}
			var lostCreates []string
			for _, x := range p.Log() {
				if x.Fault == testworld.FaultLostResponse && regexp.MustCompile(`^(Create|Run|Import|Authorize|Terminate|Delete)`).MatchString(x.Action) {
					lostCreates = append(lostCreates, x.Action)
				}
			}
			t.Logf("%d of %d requests faulted: %v; lost answers of calls that create or delete: %v", n, total, faulted, lostCreates)
			if n == 0 {
				t.Error("no fault was injected")
			}
		})
	}
}

// lastError is the first "Error:" line of a run and the line after it.
func lastError(r result) string {
	lines := strings.Split(r.stderr, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Error:") {
			out := strings.TrimSpace(l)
			for _, next := range lines[i+1:] {
				if n := strings.TrimSpace(next); n != "" && !strings.HasPrefix(n, "on ") && !strings.Contains(n, "^") && !strings.Contains(n, "resource \"") {
					out += " / " + n
					break
				}
			}
			return out
		}
	}
	return strings.TrimSpace(r.stderr)
}

// TestFaultsGiveUp: when every request fails, apply gives up, says what
// failed, and leaves the state as it was.
func TestFaultsGiveUp(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": coreConfig})
	s.must(0, "apply", "-auto-approve")
	before, err := os.ReadFile(s.statePath())
	if err != nil {
		t.Fatal(err)
	}
	p := testworld.StartFaultProxy(t, s.endpoint())
	for _, kind := range []testworld.FaultKind{testworld.FaultThrottle, testworld.FaultServerError, testworld.FaultReset} {
		p.Reset()
		p.SetFaults(testworld.Faults{Rate: 1, Seed: 7, Kinds: []testworld.FaultKind{kind}})
		// Two attempts per call keep the SDK's backoff short.
		r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL(), "AWS_MAX_ATTEMPTS=2"}, "apply", "-auto-approve", "-var", "instance_type=t2.large")
		if r.code != 1 {
			t.Fatalf("%s: apply with every request failing: %s", kind, r)
		}
		t.Logf("%s: gave up after %d requests in %v: %s", kind, len(p.Log()), r.elapsed.Round(time.Millisecond), lastError(r))
		// The error names the operation and the API's answer.
		contains(t, r, "Error reading ")
		answer := map[testworld.FaultKind]*regexp.Regexp{
			testworld.FaultThrottle:    regexp.MustCompile(`api error (RequestLimitExceeded|Throttling): `),
			testworld.FaultServerError: regexp.MustCompile(`api error (InternalError|Unavailable): `),
			testworld.FaultReset:       regexp.MustCompile(`(?s)Describe\w+, exceeded maximum number of attempts, 2,.*connection reset by peer`),
		}[kind]
		if !answer.MatchString(r.stderr) {
			t.Errorf("%s: the error does not say what the API answered (%s):\n%s", kind, answer, r.stderr)
		}
		if n := len(p.Log()); n > 12 {
			t.Errorf("%s: %d requests; AWS_MAX_ATTEMPTS=2 was not honoured", kind, n)
		}
		after, _ := os.ReadFile(s.statePath())
		if !bytes.Equal(before, after) {
			t.Errorf("%s: the state changed:\n%s\n---\n%s", kind, before, after)
		}
	}
	s.must(0, "plan")
	s.checkExactly(s.loadableState("at the end"), coreAddrs...)
}

// TestS3LostAnswers: the answers to the state's writes (the lock object's
// conditional put, the state's conditional puts, the lock's delete) are
// lost after S3 carried them out, and the SDK retries each. A run must
// recognise its own lock and its own write instead of refusing them.
func TestS3LostAnswers(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig + s3Backend(""))
	s.createBucket()
	p := testworld.StartFaultProxy(t, s.endpoint())
	lost := map[string]int{}
	p.AfterResponse(func(x testworld.Exchange) testworld.Verdict {
		if x.Method != "PUT" && x.Method != "DELETE" {
			return testworld.Pass
		}
		what := x.Method + " " + x.Path
		if strings.HasSuffix(x.Path, ".lock") {
			what = x.Method + " lock"
		}
		// Lose the first answer of each kind, and that of the state write
		// that records the outputs.
		if lost[what] == 0 || (x.Method == "PUT" && bytes.Contains(x.Body, []byte(`"outputs"`)) && lost[what] == 1) {
			lost[what]++
			return testworld.Drop
		}
		return testworld.Pass
	})
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, "apply", "-auto-approve")
	t.Logf("lost answers: %v", lost)
	if r.code != 0 {
		t.Fatalf("apply with lost S3 answers: %s", r)
	}
	st := s.remoteState()
	if st.Resource("aws_security_group.web") == nil || len(st.Outputs) != 1 {
		t.Errorf("state after apply lacks the group or the output: serial %d", st.Serial)
	}
	s.checkUnlocked("after apply")
	s.must(0, "plan", "-detailed-exitcode")
	if n := s.securityGroupsNamed("web"); n != 1 {
		t.Errorf("%d groups named web", n)
	}
}
