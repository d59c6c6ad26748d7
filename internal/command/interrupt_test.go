package command

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the signal goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInterruptsStages: a first Ctrl-C cancels everything in a one-stage
// command; in two-stage mode (apply) only stop, and the second Ctrl-C runs
// the cleanups and exits at once; SIGTERM cancels everything and, when the
// run does not end within termGrace, exits after the cleanups.
func TestInterruptsStages(t *testing.T) {
	t.Run("one stage", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		var errw lockedBuffer
		in := newInterrupts(sig, &errw, func(int) { t.Error("exit on one Ctrl-C") })
		defer in.close()
		sig <- os.Interrupt
		waitDone(t, in.stop.Done(), "stop")
		waitDone(t, in.hard.Done(), "hard")
	})
	t.Run("two stages", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		var errw lockedBuffer
		exited := make(chan int, 1)
		in := newInterrupts(sig, &errw, func(code int) { exited <- code })
		defer in.close()
		in.twoStageMode("first!")
		released := 0
		unlock := in.atExit(func() error { released++; return nil })
		sig <- os.Interrupt
		waitDone(t, in.stop.Done(), "stop")
		select {
		case <-in.hard.Done():
			t.Fatal("the first Ctrl-C abandoned the work in flight")
		case <-time.After(100 * time.Millisecond):
		}
		sig <- os.Interrupt
		select {
		case code := <-exited:
			if code != 1 {
				t.Errorf("exit code %d", code)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no exit on the second Ctrl-C")
		}
		if released != 1 || unlock() != nil || released != 1 {
			t.Errorf("the lock was released %d times", released)
		}
		if !strings.Contains(errw.String(), "first!") || !strings.Contains(errw.String(), "Two interrupts received") {
			t.Errorf("messages: %q", errw.String())
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		sig := make(chan os.Signal, 2)
		var errw lockedBuffer
		exited := make(chan int, 1)
		in := newInterrupts(sig, &errw, func(code int) { exited <- code })
		defer in.close()
		in.twoStageMode("first!")
		in.atExit(func() error { return errors.New("S3 said no") })
		start := time.Now()
		sig <- syscall.SIGTERM
		waitDone(t, in.hard.Done(), "hard")
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			t.Fatal("no exit after SIGTERM")
		}
		if el := time.Since(start); el < termGrace || el > termGrace+time.Second {
			t.Errorf("exited %v after SIGTERM", el)
		}
		if !strings.Contains(errw.String(), "Error releasing the state lock: S3 said no") {
			t.Errorf("unlock failure not reported: %q", errw.String())
		}
	})
}

func waitDone(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatalf("%s not cancelled", what)
	}
}

// TestCtrlCAtApprovalPromptCancels: the first Ctrl-C at "Enter a value:"
// cancels the apply (it used to be ignored until a line was typed).
func TestCtrlCAtApprovalPromptCancels(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(`
provider "aws" {
  region   = "eu-west-1"
  endpoint = "http://127.0.0.1:9"
}
resource "aws_security_group" "web" { name = "web" }
`), 0o644)
	d, _, _ := testDeps(t, dir)
	var errw, out lockedBuffer
	d.Streams.Err, d.Streams.Out = &errw, &out
	d.Env = append(d.Env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	pr, pw := io.Pipe() // a terminal nobody types into
	defer pw.Close()
	d.Streams.In, d.Streams.InTTY = pr, true
	sig := make(chan os.Signal, 2)
	d.Interrupts = sig
	d.Exit = func(int) { t.Error("exited at once on one Ctrl-C") }
	done := make(chan int, 1)
	go func() {
		code := Main([]string{"apply"}, d)
		done <- code
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if strings.Contains(out.String(), "Enter a value:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prompt:\n%s\n%s", out.String(), errw.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errw.String(), "apply cancelled") {
			t.Fatalf("exit %d, stderr %q", code, errw.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Ctrl-C at the prompt did not cancel")
	}
}

// TestFmtWritesAtomically: fmt replaces a file through a temporary file
// and a rename (a new inode; a reader holding the old one sees it whole),
// keeps its mode and leaves no temporary file; a symbolic link stays one.
func TestFmtWritesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.hcl")
	os.WriteFile(path, []byte("locals {\nx=1\n}\n"), 0o640)
	os.Chmod(path, 0o640)
	before, _ := os.Stat(path)
	target := filepath.Join(dir, "real.hcl.txt")
	os.WriteFile(target, []byte("locals {\ny=1\n}\n"), 0o600)
	os.Symlink(target, filepath.Join(dir, "link.hcl"))
	d, _, errb := testDeps(t, dir)
	if code := Main([]string{"fmt"}, d); code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, errb.String())
	}
	after, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "locals {\n  x = 1\n}\n" {
		t.Errorf("formatted: %q", b)
	}
	if os.SameFile(before, after) {
		t.Error("fmt rewrote the file in place")
	}
	if after.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", after.Mode().Perm())
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link.hcl")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "locals {\n  y = 1\n}\n" {
		t.Errorf("link target: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("files left: %v", entries)
	}
}
