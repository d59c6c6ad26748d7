package host_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers/host"
)

// TestExec runs a user's commands as mlops ssh does: the command line as
// given, stdin passed through, stdout and stderr apart, the exit status
// returned, a terminal only when asked for.
func TestExec(t *testing.T) {
	h := testworld.StartHost(t)
	hs := newHosts(t, host.Options{})
	c := dial(t, hs, targetFor(h), "")
	ctx := context.Background()

	var out, errOut bytes.Buffer
	code, err := c.Exec(ctx, host.ExecRequest{Command: "id -un; echo oops >&2; exit 3", Stdout: &out, Stderr: &errOut})
	if err != nil || code != 3 || out.String() != "ubuntu\n" || errOut.String() != "oops\n" {
		t.Errorf("command: code %d err %v stdout %q stderr %q", code, err, out.String(), errOut.String())
	}

	out.Reset()
	code, err = c.Exec(ctx, host.ExecRequest{Command: "tr a-z A-Z; test -t 0 || echo no-tty", Stdin: strings.NewReader("hello\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "HELLO\nno-tty\n" {
		t.Errorf("stdin: code %d err %v stdout %q", code, err, out.String())
	}

	out.Reset()
	resize := make(chan host.WindowSize, 1)
	resize <- host.WindowSize{Width: 100, Height: 30}
	code, err = c.Exec(ctx, host.ExecRequest{Command: "sleep 0.5; test -t 0 && stty size", Stdout: &out,
		PTY: &host.PTY{Term: "xterm", WindowSize: host.WindowSize{Width: 80, Height: 24}}, Resize: resize})
	if err != nil || code != 0 || strings.TrimSpace(out.String()) != "30 100" {
		t.Errorf("pty: code %d err %v output %q", code, err, out.String())
	}

	// A login shell reads its commands from stdin.
	out.Reset()
	code, err = c.Exec(ctx, host.ExecRequest{Stdin: strings.NewReader("echo shell:$0\nexit 4\n"), Stdout: &out})
	if err != nil || code != 4 || !strings.Contains(out.String(), "shell:") {
		t.Errorf("shell: code %d err %v output %q", code, err, out.String())
	}

	code, err = c.Exec(ctx, host.ExecRequest{Command: "kill -TERM $$", Stdout: &out})
	if code != 255 || err == nil || !strings.Contains(err.Error(), "signal TERM") {
		t.Errorf("signal: code %d err %v", code, err)
	}

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Exec(cctx, host.ExecRequest{Command: "sleep 30"}); err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("cancel: err %v after %v", err, time.Since(start))
	}
}
