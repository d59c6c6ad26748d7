package layers_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/zclconf/go-cty/cty"
)

// TestIdleStopAgentOnSandbox installs the idle_stop layer on a sandbox host
// over SSH (no systemd and no cron there: the agent runs as a background
// loop), then drives the agent's decisions with an injected clock
// (MLOPS_IDLE_NOW) and an injected stop command that only records the stop,
// through real activity on the host: an SSH session with and without
// terminal input, a CPU-bound process under nohup, a stand-in Jupyter
// server's kernel API, a process matching a pattern. Every check must add
// exactly one log line, with its reason.
func TestIdleStopAgentOnSandbox(t *testing.T) {
	h := testworld.StartHost(t)
	ctx := context.Background()
	hs := host.New(host.Options{LoopbackOnly: true, Dial: loopbackDial(t), NewSession: layers.NewSession,
		LayerSchemas: layers.Schemas, Log: t.Logf})
	s, diags := hs.Open(ctx, providers.SSHTarget{Host: h.Addr, Port: h.Port, User: h.User, PrivateKeyFile: h.KeyFile,
		Timeout: 30 * time.Second}, h.HostKey)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer s.Close()

	// A one-minute window keeps the test short; the clock is injected anyway.
	ly := idleStopLayer(t, hs, map[string]cty.Value{
		"after": cty.StringVal("1m"), "warn_before": cty.StringVal("20s"), "check_every": cty.StringVal("1h"),
		"processes": cty.ListVal([]cty.Value{cty.StringVal("python3 .*train")}), "cpu_percent": cty.NumberIntVal(10),
		"keep_awake": cty.StringVal("test -e /tmp/keep-awake"),
	})
	probe := func() providers.LayerStatus {
		t.Helper()
		resp := s.Probe(ctx, providers.ProbeRequest{Layers: []providers.Layer{ly}})
		if resp.Diagnostics.HasErrors() {
			t.Fatal(resp.Diagnostics)
		}
		return resp.Statuses[0]
	}
	if st := probe(); st.Satisfied || strings.Join(st.Reasons, "; ") != "idle-stop agent not installed; idle-stop loop not running (no systemd, no cron)" {
		t.Fatalf("fresh host: %+v", st)
	}
	out := &lines{m: map[string][]string{}}
	if resp := s.Converge(ctx, providers.ConvergeRequest{Layers: []providers.Layer{ly}, Output: out.add}); resp.Failed != nil {
		t.Fatalf("converge: %v\n%s", resp.Diagnostics, strings.Join(out.m["idle"], "\n"))
	}
	if st := probe(); !st.Satisfied || st.Info != "idle-stop agent: no check yet" {
		t.Fatalf("after converge: %+v", st)
	}
	if got := h.Exec(t, `tr '\0' ' ' </proc/$(cat /run/mlops-idle-stop.pid)/cmdline`); !strings.Contains(got, "idle-stop loop") {
		t.Fatalf("the agent loop does not run: %q", got)
	}

	logLines := func(t *testing.T) []string {
		text := strings.TrimSpace(h.Exec(t, "cat /var/log/mlops-idle-stop.log"))
		if text == "" {
			return nil
		}
		return strings.Split(text, "\n")
	}
	// check runs one decision at the injected time and returns its log line,
	// after checking that it is the one line the check added.
	check := func(t *testing.T, at int64) string {
		t.Helper()
		before := len(logLines(t))
		got := strings.TrimSpace(h.Exec(t, fmt.Sprintf(
			"MLOPS_IDLE_NOW=%d MLOPS_IDLE_STOP_COMMAND='echo stopped >>/tmp/stops' /usr/local/lib/mlops/idle-stop check", at)))
		after := logLines(t)
		if len(after) != before+1 || after[len(after)-1] != got {
			t.Fatalf("a check must add exactly its one line to the log; printed %q, log grew from %d to %d lines: %q", got, before, len(after), after[before:])
		}
		stamp := time.Unix(at, 0).UTC().Format("2006-01-02T15:04:05Z")
		if !strings.HasPrefix(got, stamp+" ") {
			t.Errorf("the line does not carry the injected time %s: %q", stamp, got)
		}
		t.Logf("check at %s: %s", stamp, got)
		return strings.TrimPrefix(got, stamp+" ")
	}
	stops := func(t *testing.T) int {
		return strings.Count(h.Exec(t, "cat /tmp/stops 2>/dev/null || true"), "stopped")
	}
	reset := func(t *testing.T) {
		h.Exec(t, "rm -f /var/lib/mlops/idle-stop/state /var/lib/mlops/idle-stop/status /tmp/stops")
	}
	want := func(t *testing.T, got, pattern string) {
		t.Helper()
		if !regexp.MustCompile(pattern).MatchString(got) {
			t.Errorf("decision %q does not match %q", got, pattern)
		}
	}

	t.Run("no activity: stop after the window, with a warning first", func(t *testing.T) {
		reset(t)
		now := time.Now().Unix()
		want(t, check(t, now), `^idle: idle for 0m of 1m; last activity: the agent started at \d\d:\d\d UTC$`)
		want(t, check(t, now+45), `^warn: idle for 0m of 1m; stopping in 0m; warned logged-in users; last activity: the agent started`)
		if stops(t) != 0 {
			t.Fatal("stopped before the window ended")
		}
		want(t, check(t, now+61), `^stop: idle for 1m of 1m; last activity: the agent started at \d\d:\d\d UTC; running: echo stopped >>/tmp/stops$`)
		if stops(t) != 1 {
			t.Fatalf("the stop command ran %d times, want once", stops(t))
		}
		if st := probe(); !strings.HasPrefix(st.Info, "stop: idle for 1m of 1m") {
			t.Errorf("the probe's view of the agent: %q", st.Info)
		}
	})

	t.Run("a CPU-bound process under nohup and no SSH: no stop", func(t *testing.T) {
		reset(t)
		sshCommand(t, h, "nohup python3 -c 'while True: pass' >/dev/null 2>&1 &")
		defer h.Exec(t, "pkill -f '[w]hile True' || true")
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), `^active: CPU use \d+% of one CPU \(at least 10%\); idle timer reset$`)
		want(t, check(t, now+122), `^active: CPU use`)
		if stops(t) != 0 {
			t.Fatal("a machine running a training job was stopped")
		}
	})

	// One interactive session for the next two scenarios: the OpenSSH
	// client with a terminal, its input from a pipe.
	session, pts := openSession(t, h)

	t.Run("an open but idle SSH session: stop", func(t *testing.T) {
		reset(t)
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), `^stop: idle for 1m of 1m; last activity: the agent started`)
		if stops(t) != 1 {
			t.Fatal("an idle session kept the machine running")
		}
	})

	t.Run("an SSH session with recent input: no stop", func(t *testing.T) {
		reset(t)
		now := time.Now().Unix()
		check(t, now)
		// A terminal's access time moves in steps of 8 seconds: type after
		// more than one step.
		time.Sleep(17 * time.Second)
		if _, err := io.WriteString(session, "echo typed\n"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			a, _ := strconv.ParseInt(strings.TrimSpace(h.Exec(t, "stat -c %X "+pts)), 10, 64)
			if a > now {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the input did not reach %s", pts)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Without the input this check would stop the machine (see above).
		want(t, check(t, now+61), `^(idle|warn): idle for 0m of 1m;.* last activity: terminal input on `+strings.TrimPrefix(pts, "/dev/")+` at`)
		if stops(t) != 0 {
			t.Fatal("a session with recent input was stopped")
		}
	})
	session.Close()

	t.Run("a busy kernel of a Jupyter server: no stop", func(t *testing.T) {
		reset(t)
		port := freePort(t, h.Addr)
		// A stand-in Jupyter server: the kernel API answers only with the
		// token of the server's runtime file, as Jupyter does.
		h.Exec(t, fmt.Sprintf(`mkdir -p /tmp/jupyter && cat >/tmp/jupyter/server.py <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/api/kernels" or self.headers.get("Authorization") != "token s3cret":
            self.send_response(403); self.end_headers(); return
        body = open("/tmp/jupyter/kernels").read().encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
EOF
echo '[{"id": "k1", "name": "python3", "last_activity": "2020-01-01T00:00:00.000000Z", "execution_state": "busy", "connections": 1}]' >/tmp/jupyter/kernels
mkdir -p /home/ubuntu/.local/share/jupyter/runtime
printf '{\n  "base_url": "/",\n  "pid": 4242,\n  "port": %d,\n  "token": "s3cret",\n  "url": "http://%s:%d/"\n}\n' >/home/ubuntu/.local/share/jupyter/runtime/jpserver-4242.json
chown -R ubuntu: /home/ubuntu/.local
setsid -f su ubuntu -c 'python3 /tmp/jupyter/server.py %s %d' </dev/null >/dev/null 2>&1
for i in $(seq 50); do curl -s -o /dev/null http://%s:%d/ && break; sleep 0.1; done`,
			port, h.Addr, port, h.Addr, port, h.Addr, port))
		defer h.Exec(t, "pkill -f '/tmp/jupyter/[s]erver.py' || true; rm -f /home/ubuntu/.local/share/jupyter/runtime/jpserver-4242.json")
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), fmt.Sprintf(`^active: a Jupyter kernel is busy \(http://%s:%d\); idle timer reset$`, regexp.QuoteMeta(h.Addr), port))
		if stops(t) != 0 {
			t.Fatal("a busy kernel was stopped")
		}
		// The same kernel idle: the machine stops a window later.
		h.Exec(t, `sed -i 's/"busy"/"idle"/' /tmp/jupyter/kernels`)
		want(t, check(t, now+122), `^stop: idle for 1m of 1m; last activity: a Jupyter kernel is busy`)
	})

	t.Run("GPU utilisation over the threshold: no stop", func(t *testing.T) {
		reset(t)
		// A stand-in for nvidia-smi (the sandbox has no GPU): two GPUs, one busy.
		h.Exec(t, `printf '#!/bin/sh\necho 3\necho 87\n' >/usr/local/bin/nvidia-smi && chmod 755 /usr/local/bin/nvidia-smi`)
		defer h.Exec(t, "rm -f /usr/local/bin/nvidia-smi")
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), `^active: GPU utilisation 87% \(at least 10%\); idle timer reset$`)
		h.Exec(t, `printf '#!/bin/sh\necho 3\necho 4\n' >/usr/local/bin/nvidia-smi`)
		want(t, check(t, now+122), `^stop: idle for 1m of 1m; last activity: GPU utilisation 87%`)
	})

	t.Run("the keep_awake command succeeds: no stop", func(t *testing.T) {
		reset(t)
		h.Exec(t, "touch /tmp/keep-awake")
		defer h.Exec(t, "rm -f /tmp/keep-awake")
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), `^active: the keep_awake command succeeded; idle timer reset$`)
		if stops(t) != 0 {
			t.Fatal("stopped although keep_awake succeeded")
		}
	})

	t.Run("a new boot restarts the idle timer", func(t *testing.T) {
		reset(t)
		now := time.Now().Unix()
		// Last night's state, recorded under another boot.
		h.Exec(t, fmt.Sprintf("printf 'LAST_ACTIVE=%d\nLAST_WHAT=x\nBOOT_ID=another-boot\nWARNED=0\n' >/var/lib/mlops/idle-stop/state", now-10*3600))
		want(t, check(t, now), `^idle: idle for 0m of 1m; last activity: the agent started`)
	})

	t.Run("a process matching a pattern: no stop", func(t *testing.T) {
		reset(t)
		sshCommand(t, h, "nohup python3 -c 'import time; time.sleep(600)' train.py >/dev/null 2>&1 &")
		defer h.Exec(t, "pkill -f '[t]ime.sleep' || true")
		now := time.Now().Unix()
		check(t, now)
		want(t, check(t, now+61), `^active: process \d+ matches "python3 \.\*train"; idle timer reset$`)
		if stops(t) != 0 {
			t.Fatal("a machine running a matching process was stopped")
		}
	})
}

func idleStopLayer(t *testing.T, hs *host.Hosts, set map[string]cty.Value) providers.Layer {
	t.Helper()
	return mkLayer(t, hs, "idle", "idle_stop", set)
}

// sshArgs are the OpenSSH client's arguments for the sandbox host.
func sshArgs(h *testworld.Host) []string {
	return []string{"-i", h.KeyFile, "-p", strconv.Itoa(h.Port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", h.User + "@" + h.Addr}
}

// sshCommand runs a command on the host with the OpenSSH client, without a
// terminal, and waits for the session to end.
func sshCommand(t *testing.T, h *testworld.Host, command string) {
	t.Helper()
	out, err := exec.Command("ssh", append(sshArgs(h), command)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", command, err, out)
	}
}

// openSession opens an interactive SSH session with a terminal and returns
// its input and the terminal's device on the host.
func openSession(t *testing.T, h *testworld.Host) (io.WriteCloser, string) {
	t.Helper()
	before := h.Exec(t, "ls /dev/pts")
	cmd := exec.Command("ssh", append([]string{"-tt"}, sshArgs(h)...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, p := range strings.Fields(h.Exec(t, "ls /dev/pts")) {
			if p != "ptmx" && !strings.Contains(" "+strings.Join(strings.Fields(before), " ")+" ", " "+p+" ") {
				return in, "/dev/pts/" + p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the SSH session got no terminal")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
