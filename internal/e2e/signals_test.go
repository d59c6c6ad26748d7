package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/state"
)

// blackHole is an HTTP endpoint that accepts connections and never
// answers. accepted is closed at the first connection.
type blackHole struct {
	ln       net.Listener
	accepted chan struct{}
}

func startBlackHole(t *testing.T) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln, accepted: make(chan struct{})}
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(b.accepted) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return b
}

func (b *blackHole) URL() string { return "http://" + b.ln.Addr().String() }

// terminated runs mlops, waits until ready says it is blocked, sends
// SIGTERM and returns the output and how long the process took to end.
func (s *stack) terminated(extraEnv []string, ready func() <-chan struct{}, args ...string) (result, time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-ready():
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		s.t.Fatalf("mlops %v never blocked:\n%s%s", args, out.String(), errb.String())
	}
	time.Sleep(300 * time.Millisecond) // well inside the wait
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(start)
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: took}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	}
	return r, took
}

// afterDelay is a ready function for waits that cannot be observed (a
// FIFO nobody writes).
func afterDelay(d time.Duration) func() <-chan struct{} {
	return func() <-chan struct{} {
		ch := make(chan struct{})
		time.AfterFunc(d, func() { close(ch) })
		return ch
	}
}

// checkLocalLockFree fails when the local state lock is still held.
func (s *stack) checkLocalLockFree(when string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := state.NewLocal(s.statePath()).Lock(ctx, state.LockInfo{Operation: "test"})
	if err != nil {
		s.t.Errorf("%s: the local lock is still held: %v", when, err)
		return
	}
	unlock()
}

// TestSIGTERMEndsEveryCommand: every command that waits (on a FIFO among
// the configuration files, on an AWS endpoint that never answers, on an S3
// backend that never answers) ends within 2 s of SIGTERM, with exit 1 and
// its lock released.
func TestSIGTERMEndsEveryCommand(t *testing.T) {
	const limit = 2 * time.Second
	t.Run("FIFO", func(t *testing.T) {
		// A FIFO named *.hcl blocks the configuration load of every command.
		for _, args := range [][]string{
			{"validate"}, {"plan"}, {"apply", "-auto-approve"}, {"destroy", "-auto-approve"},
			{"output"}, {"show"}, {"state", "list"}, {"state", "rm", "aws_security_group.web"},
			{"import", "aws_security_group.web", "sg-1"}, {"force-unlock", "0123"},
		} {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				s := newStack(t, map[string]string{"main.hcl": smallConfig})
				if err := syscall.Mkfifo(filepath.Join(s.dir, "blocked.hcl"), 0o600); err != nil {
					t.Fatal(err)
				}
				r, took := s.terminated(nil, afterDelay(500*time.Millisecond), args...)
				if took > limit || r.code == 0 {
					t.Fatalf("mlops %v ended %v after SIGTERM, %s", args, took, r)
				}
				contains(t, r, "Terminated")
				s.checkLocalLockFree("after SIGTERM")
			})
		}
	})
	t.Run("EC2 black hole", func(t *testing.T) {
		for _, args := range [][]string{
			{"plan"}, {"apply", "-auto-approve"}, {"import", "aws_security_group.web", "sg-12345678"},
		} {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				s := newStack(t, map[string]string{"main.hcl": smallConfig})
				if args[0] == "plan" {
					s.must(0, "apply", "-auto-approve") // something to refresh
				}
				bh := startBlackHole(t)
				r, took := s.terminated([]string{"AWS_ENDPOINT_URL=" + bh.URL()}, func() <-chan struct{} { return bh.accepted }, args...)
				if took > limit || r.code == 0 {
					t.Fatalf("mlops %v ended %v after SIGTERM, %s", args, took, r)
				}
				contains(t, r, "Terminated")
				s.checkLocalLockFree("after SIGTERM")
			})
		}
	})
	t.Run("S3 black hole", func(t *testing.T) {
		// The S3 backend itself never answers: lock, read, force-unlock.
		for _, args := range [][]string{
			{"plan"}, {"apply", "-auto-approve"}, {"state", "pull"}, {"output"}, {"show"},
			{"state", "rm", "aws_security_group.web"}, {"force-unlock", "0123"},
		} {
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				s := newStack(t, nil)
				bh := startBlackHole(t)
				s.writeConfig(smallConfig + s3Backend(bh.URL()))
				r, took := s.terminated(nil, func() <-chan struct{} { return bh.accepted }, args...)
				if took > limit || r.code == 0 {
					t.Fatalf("mlops %v ended %v after SIGTERM, %s", args, took, r)
				}
			})
		}
	})
	t.Run("S3 lock held, state read hangs", func(t *testing.T) {
		// The lock object is created on moto, then reading the state
		// never answers: SIGTERM must still delete the lock object.
		s := newStack(t, nil)
		s.createBucket()
		p := testworld.StartFaultProxy(t, s.moto.Endpoint())
		gate := make(chan struct{})
		t.Cleanup(func() { close(gate) })
		reading := make(chan struct{})
		var once sync.Once
		p.BeforeForward(func(x testworld.Exchange) testworld.Verdict {
			if x.Method == "GET" && strings.HasSuffix(x.Path, stateKey) {
				once.Do(func() { close(reading) })
				<-gate
				return testworld.Drop
			}
			return testworld.Pass
		})
		s.writeConfig(smallConfig + s3Backend(p.URL()))
		for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
			r, took := s.terminated(nil, func() <-chan struct{} { return reading }, args...)
			if took > limit || r.code == 0 {
				t.Fatalf("mlops %v ended %v after SIGTERM, %s", args, took, r)
			}
			s.checkUnlocked(fmt.Sprintf("after SIGTERM to %v", args))
			reading = make(chan struct{})
			once = sync.Once{}
		}
	})
	t.Run("S3 lock held, EC2 hangs", func(t *testing.T) {
		s := newStack(t, nil)
		s.createBucket()
		s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
		s.must(0, "apply", "-auto-approve")
		bh := startBlackHole(t)
		for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve", "-var", "port=2222"}, {"destroy", "-auto-approve"}} {
			r, took := s.terminated([]string{"AWS_ENDPOINT_URL=" + bh.URL()}, func() <-chan struct{} { return bh.accepted }, args...)
			if took > limit || r.code == 0 {
				t.Fatalf("mlops %v ended %v after SIGTERM, %s", args, took, r)
			}
			s.checkUnlocked(fmt.Sprintf("after SIGTERM to %v", args))
		}
		s.must(0, "plan")
	})
}

// TestHTTPResponseTimeout: without a signal, an endpoint that never
// answers fails the run after MLOPS_HTTP_TIMEOUT instead of hanging.
func TestHTTPResponseTimeout(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	s.must(0, "apply", "-auto-approve")
	bh := startBlackHole(t)
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + bh.URL(), "MLOPS_HTTP_TIMEOUT=1s", "AWS_MAX_ATTEMPTS=1"}, "plan")
	if r.code != 1 || r.elapsed > 15*time.Second {
		t.Fatalf("plan against a black hole: %v after %v", r, r.elapsed)
	}
	contains(t, r, "timeout")
	s.checkLocalLockFree("after the timeout")
}

// TestUnlockFailureReported: when the lock cannot be released at the end
// of a run, mlops says so (with the way out) and exits 1 instead of
// dropping the error.
func TestUnlockFailureReported(t *testing.T) {
	s := newStack(t, nil)
	s.createBucket()
	p := testworld.StartFaultProxy(t, s.moto.Endpoint())
	p.BeforeForward(func(x testworld.Exchange) testworld.Verdict {
		if x.Action == "S3 DELETE" {
			return testworld.Drop
		}
		return testworld.Pass
	})
	s.writeConfig(smallConfig + s3Backend(p.URL()))
	r := s.runEnv([]string{"AWS_MAX_ATTEMPTS=1"}, "plan")
	if r.code != 1 {
		t.Fatalf("plan whose unlock failed: %s", r)
	}
	containsFlat(t, r, "Error releasing the state lock", "mlops force-unlock")
	if s.lockObject() == nil {
		t.Fatal("the lock is gone although its deletion was dropped")
	}
}

// TestSIGTERMDuringApplyWalk: SIGTERM while an operation is in flight
// abandons it (unlike the first Ctrl-C, which waits for it), saves the
// state, releases the lock and exits 1 within 2 s; the next apply leaves
// exactly one group.
func TestSIGTERMDuringApplyWalk(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
	s.createBucket()
	v, _, paused := s.pausedApply("CreateSecurityGroup")
	waitFor(t, "the apply to reach CreateSecurityGroup", paused)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	v.cmd.Process.Signal(syscall.SIGTERM)
	v.wait()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("apply ended %v after SIGTERM", took)
	}
	if code := v.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d:\n%s", code, v.out.String())
	}
	if !strings.Contains(v.out.String(), "Terminated") {
		t.Errorf("no message:\n%s", v.out.String())
	}
	s.checkUnlocked("after SIGTERM")
	s.must(0, "apply", "-auto-approve")
	if n := s.securityGroupsNamed("web"); n != 1 {
		t.Errorf("%d groups named web after resuming", n)
	}
}
