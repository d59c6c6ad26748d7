package host_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// loopbackDial dials only 127.0.0.0/8 and fails the test otherwise, on top
// of the transport's own loopback-only check.
func loopbackDial(t *testing.T) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(h); err != nil || ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
			t.Errorf("dial %s %s: outside 127.0.0.0/8", network, addr)
			return nil, errors.New("test: refusing non-loopback dial")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func newHosts(t *testing.T, opts host.Options) *host.Hosts {
	opts.LoopbackOnly = true
	if opts.Dial == nil {
		opts.Dial = loopbackDial(t)
	}
	if opts.LookupHost == nil {
		opts.LookupHost = func(ctx context.Context, name string) ([]string, error) {
			t.Errorf("unexpected lookup of %q", name)
			return nil, errors.New("test: no DNS")
		}
	}
	if opts.Log == nil {
		opts.Log = t.Logf
	}
	return host.New(opts)
}

func targetFor(h *testworld.Host) providers.SSHTarget {
	return providers.SSHTarget{Host: h.Addr, Port: h.Port, User: h.User, PrivateKeyFile: h.KeyFile, Timeout: 10 * time.Second}
}

func dial(t *testing.T, hs *host.Hosts, target providers.SSHTarget, known string) *host.Conn {
	t.Helper()
	c, err := hs.Dial(context.Background(), target, known)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type line struct {
	Stream layers.Stream
	Text   string
}

func TestRunAndCapture(t *testing.T) {
	h := testworld.StartHost(t)
	hs := newHosts(t, host.Options{})
	start := time.Now()
	c := dial(t, hs, targetFor(h), "")
	t.Logf("connect took %v", time.Since(start))
	ctx := context.Background()

	if got := c.HostKey(); got != h.HostKey {
		t.Errorf("HostKey() = %q, want the host's key %q (trust on first use)", got, h.HostKey)
	}
	if got := c.User(); got != "ubuntu" {
		t.Errorf("User() = %q", got)
	}

	stdout, stderr, code, err := c.Capture(ctx, "echo out; echo err >&2; whoami; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if string(stdout) != "out\nubuntu\n" || string(stderr) != "err\n" || code != 3 {
		t.Errorf("Capture = %q, %q, %d", stdout, stderr, code)
	}

	// The script arrives on stdin of `bash -s`: the command line is only that.
	stdout, _, _, err = c.Capture(ctx, `tr '\0' ' ' </proc/$$/cmdline`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(stdout)); got != "bash -s" {
		t.Errorf("remote command line = %q, want \"bash -s\"", got)
	}

	// A script beyond the 128 KiB limit of one command line argument.
	big := "x=" + strings.Repeat("a", 256<<10) + "\necho ${#x}\n"
	stdout, _, _, err = c.Capture(ctx, big)
	if err != nil || strings.TrimSpace(string(stdout)) != fmt.Sprint(256<<10) {
		t.Errorf("big script: %q, %v", stdout, err)
	}

	// The whole script is read before it runs: a command reading stdin
	// sees end of file instead of the rest of the script, and a syntax
	// error stops everything.
	for _, tc := range []struct {
		script, stdout string
		code           int
	}{
		{"cat\necho after", "after\n", 0},
		{"read -r x || echo eof\necho after", "eof\nafter\n", 0},
		{"echo ran\nif then", "", 2},
		{"", "", 0},
		{"# only a comment", "", 0},
		{"echo $LINENO\n\necho $LINENO\nfalse", "1\n3\n", 1},
		{"set -e\nf() { echo in-f; }\nf\ncat <<EOF\nheredoc\nEOF\nfalse\necho not reached", "in-f\nheredoc\n", 1},
	} {
		stdout, _, code, err := c.Capture(ctx, tc.script)
		if err != nil || string(stdout) != tc.stdout || code != tc.code {
			t.Errorf("Capture(%q) = %q, %d, %v; want %q, %d", tc.script, stdout, code, err, tc.stdout, tc.code)
		}
	}

	var got []line
	code, err = c.Run(ctx, "echo one; echo two >&2; printf 'three\\r\\n'; printf 'no newline'; exit 0",
		func(s layers.Stream, text string) { got = append(got, line{s, text}) })
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	var outLines, errLines []string
	for _, l := range got {
		if l.Stream == layers.Stdout {
			outLines = append(outLines, l.Text)
		} else {
			errLines = append(errLines, l.Text)
		}
	}
	if diff := cmp.Diff([]string{"one", "three", "no newline"}, outLines); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"two"}, errLines); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}

	code, err = c.Run(ctx, "false", nil)
	if err != nil || code != 1 {
		t.Errorf("Run(false) = %d, %v; want 1, nil", code, err)
	}
	code, err = c.Run(ctx, "kill -TERM $$", nil)
	if err != nil || code != 128+int(syscall.SIGTERM) {
		t.Errorf("Run(kill -TERM $$) = %d, %v; want %d, nil", code, err, 128+int(syscall.SIGTERM))
	}
}

func TestRunStreamsLinesAsTheyArrive(t *testing.T) {
	h := testworld.StartHost(t)
	c := dial(t, newHosts(t, host.Options{}), targetFor(h), "")
	var first time.Duration
	start := time.Now()
	_, err := c.Run(context.Background(), "echo early; sleep 1; echo late", func(s layers.Stream, text string) {
		if text == "early" {
			first = time.Since(start)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || first > 700*time.Millisecond {
		t.Errorf("first line arrived after %v; want it before the script ends", first)
	}
}

func TestOneConnectionForManyScripts(t *testing.T) {
	h := testworld.StartHost(t)
	hs := newHosts(t, host.Options{})
	before := h.Connections()
	start := time.Now()
	c := dial(t, hs, targetFor(h), "")
	connect := time.Since(start)
	ctx := context.Background()
	const n = 20
	start = time.Now()
	for i := range n {
		out, _, _, err := c.Capture(ctx, fmt.Sprintf("echo %d", i))
		if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(i) {
			t.Fatalf("Capture %d = %q, %v", i, out, err)
		}
	}
	t.Logf("connect %v, capture round trip %v", connect, time.Since(start)/n)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if code, err := c.Run(ctx, "echo concurrent", nil); err != nil || code != 0 {
				t.Errorf("concurrent Run = %d, %v", code, err)
			}
		})
	}
	wg.Wait()
	if got := h.Connections() - before; got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}

	// Reconnect opens exactly one new connection, which sees new groups.
	c.Capture(ctx, "sudo groupadd -f sandboxgroup && sudo usermod -aG sandboxgroup ubuntu")
	if out, _, _, _ := c.Capture(ctx, "id -nG"); strings.Contains(string(out), "sandboxgroup") {
		t.Fatalf("group visible before Reconnect: %q", out)
	}
	if err := c.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if out, _, _, _ := c.Capture(ctx, "id -nG"); !strings.Contains(string(out), "sandboxgroup") {
		t.Errorf("group not visible after Reconnect: %q", out)
	}
	if got := h.Connections() - before; got != 2 {
		t.Errorf("connections after Reconnect = %d, want 2", got)
	}
}

func TestHostKeyPinning(t *testing.T) {
	h := testworld.StartHost(t)
	noSleep := func(context.Context, time.Duration) error {
		t.Error("a host key mismatch was retried")
		return errors.New("no retry")
	}
	hs := newHosts(t, host.Options{Sleep: noSleep})
	ctx := context.Background()

	// Trust on first use.
	c := dial(t, hs, targetFor(h), "")
	tofu := c.HostKey()
	c.Close()
	// Known key matches.
	dial(t, hs, targetFor(h), tofu).Close()

	oldKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(tofu))
	h.Restart(t, true)
	newKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(h.HostKey))

	start := time.Now()
	_, err := hs.Dial(ctx, targetFor(h), tofu)
	var mismatch *host.HostKeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("Dial with the old key = %v, want a HostKeyMismatchError", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("mismatch took %v; it must fail at once", elapsed)
	}
	want := fmt.Sprintf("host key for %s changed: expected %s (recorded in state at first contact), got %s; if the machine was rebuilt, ",
		h.HostPort(), ssh.FingerprintSHA256(oldKey), ssh.FingerprintSHA256(newKey))
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q\nwant prefix %q", err, want)
	}
	if mismatch.GotKey != h.HostKey {
		t.Errorf("GotKey = %q, want %q", mismatch.GotKey, h.HostKey)
	}

	// Open reports it as a diagnostic.
	_, diags := hs.Open(ctx, targetFor(h), tofu)
	if !diags.HasErrors() || diags[0].Summary != "Host key changed" || !strings.Contains(diags[0].Detail, ssh.FingerprintSHA256(newKey)) {
		t.Errorf("Open diagnostics = %v", diags)
	}

	// The ssh block's host_key wins over the key in state.
	target := targetFor(h)
	target.HostKey = h.HostKey
	dial(t, hs, target, tofu).Close()
	target.HostKey = tofu
	if _, err := hs.Dial(ctx, target, h.HostKey); err == nil || !strings.Contains(err.Error(), "(host_key in the ssh block)") {
		t.Errorf("Dial with a stale host_key = %v", err)
	}

	// Reconnect checks the key seen at first contact.
	c = dial(t, hs, targetFor(h), "")
	h.Restart(t, true)
	if err := c.Reconnect(ctx); !errors.As(err, &mismatch) {
		t.Errorf("Reconnect after a key change = %v, want a HostKeyMismatchError", err)
	}
}

func TestTimeoutWhenNothingListens(t *testing.T) {
	hs := newHosts(t, host.Options{})
	key := writeKey(t, 0o600)
	start := time.Now()
	_, err := hs.Dial(context.Background(), providers.SSHTarget{
		Host: "127.0.0.9", Port: 2222, User: "ubuntu", PrivateKeyFile: key, Timeout: 2 * time.Second, Booting: true,
	}, "")
	elapsed := time.Since(start)
	var timeout *host.TimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("Dial = %v, want a TimeoutError", err)
	}
	const want = "timed out after 2s waiting for SSH on 127.0.0.9:2222: last error: "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error = %q, want prefix %q and connection refused", err, want)
	}
	if elapsed < 2*time.Second || elapsed > 4*time.Second {
		t.Errorf("gave up after %v, want about 2s", elapsed)
	}
}

func TestBackoff(t *testing.T) {
	now := time.Unix(0, 0)
	var sleeps []time.Duration
	dials := 0
	hs := newHosts(t, host.Options{
		Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error {
			sleeps = append(sleeps, d)
			now = now.Add(d)
			return nil
		},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			dials++
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		},
	})
	_, err := hs.Dial(context.Background(), providers.SSHTarget{
		Host: "127.0.0.2", User: "ubuntu", PrivateKeyFile: writeKey(t, 0o600), Timeout: time.Minute, Booting: true,
	}, "")
	s := time.Second
	if diff := cmp.Diff([]time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s, 10 * s, 10 * s, 5 * s}, sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	if dials != len(sleeps)+1 {
		t.Errorf("%d dials for %d sleeps", dials, len(sleeps))
	}
	const want = "timed out after 1m0s waiting for SSH on 127.0.0.2:22: last error: dial tcp: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

// TestShortWaitWhenNotBooting: a machine that was not created or started
// by this run gets settledWait (10 s) of retries, not the 5-minute boot
// wait, and the error says why it did not wait longer; the messages of the
// wait go to the target's Progress.
func TestShortWaitWhenNotBooting(t *testing.T) {
	now := time.Unix(0, 0)
	var sleeps []time.Duration
	hs := newHosts(t, host.Options{
		Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error {
			sleeps = append(sleeps, d)
			now = now.Add(d)
			return nil
		},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		},
	})
	var progress []string
	_, err := hs.Dial(context.Background(), providers.SSHTarget{
		Host: "127.0.0.2", User: "ubuntu", PrivateKeyFile: writeKey(t, 0o600),
		Progress: func(msg string) { progress = append(progress, msg) },
	}, "")
	var total time.Duration
	for _, d := range sleeps {
		total += d
	}
	if total != 10*time.Second {
		t.Errorf("waited %v in all (%v), want 10s", total, sleeps)
	}
	var timeout *host.TimeoutError
	if !errors.As(err, &timeout) || !timeout.NotBooting || !strings.Contains(err.Error(), "no SSH on 127.0.0.2:22 within 10s: dial tcp: connection refused. The machine was not created or started by this run") {
		t.Errorf("error = %v", err)
	}
	if len(progress) != len(sleeps) || !strings.Contains(progress[0], "waiting for SSH on 127.0.0.2:22 (attempt 1, up to 10s: the machine should be up already") {
		t.Errorf("progress = %q", progress)
	}
}

func TestLoopbackOnlyRefusesBeforeDialing(t *testing.T) {
	var dialed []string
	hs := newHosts(t, host.Options{
		Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			return nil, errors.New("test: stop here")
		},
		LookupHost: func(_ context.Context, name string) ([]string, error) {
			switch name {
			case "example.com":
				return []string{"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}, nil
			case "ec2-54-214-1-2.compute-1.amazonaws.com":
				return []string{"54.214.1.2"}, nil
			case "localhost":
				return []string{"::1", "127.0.0.1"}, nil
			}
			return nil, fmt.Errorf("no such host %s", name)
		},
		Sleep: func(context.Context, time.Duration) error { return errors.New("test: no retries") },
	})
	key := writeKey(t, 0o600)
	for _, addr := range []string{"54.214.1.2", "example.com", "10.0.0.1", "::1", "ec2-54-214-1-2.compute-1.amazonaws.com"} {
		_, err := hs.Dial(context.Background(), providers.SSHTarget{Host: addr, User: "ubuntu", PrivateKeyFile: key}, "")
		var refused *host.NotLoopbackError
		if !errors.As(err, &refused) || !strings.HasPrefix(err.Error(), "refusing to connect to "+addr) {
			t.Errorf("Dial(%s) = %v, want a refusal", addr, err)
		}
	}
	if len(dialed) != 0 {
		t.Errorf("dialed %v", dialed)
	}
	// A name that resolves to loopback is dialed by address.
	hs.Dial(context.Background(), providers.SSHTarget{Host: "localhost", Port: 2200, User: "ubuntu", PrivateKeyFile: key}, "")
	if diff := cmp.Diff([]string{"127.0.0.1:2200"}, dialed); diff != "" {
		t.Errorf("dialed (-want +got):\n%s", diff)
	}
}

func TestKeyFileChecks(t *testing.T) {
	hs := newHosts(t, host.Options{Dial: func(context.Context, string, string) (net.Conn, error) {
		t.Error("dialed despite an unusable key")
		return nil, errors.New("no")
	}})
	target := providers.SSHTarget{Host: "127.0.0.2", User: "ubuntu"}

	target.PrivateKeyFile = writeKey(t, 0o644)
	_, err := hs.Dial(context.Background(), target, "")
	want := fmt.Sprintf("permissions 0644 for %s are too open", target.PrivateKeyFile)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("0644 key: %v, want %q", err, want)
	}

	target.PrivateKeyFile = writeEncryptedKey(t)
	if _, err := hs.Dial(context.Background(), target, ""); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("encrypted key without agent: %v", err)
	}

	target.PrivateKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := hs.Dial(context.Background(), target, ""); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing key: %v", err)
	}
	_, diags := hs.Open(context.Background(), target, "")
	if len(diags) != 1 || diags[0].Summary != "Unusable SSH private key" {
		t.Errorf("Open diagnostics = %v", diags)
	}
}

func TestAgentKeys(t *testing.T) {
	h := testworld.StartHost(t)
	pem, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	hs := newHosts(t, host.Options{AgentSocket: sock})
	target := targetFor(h)
	target.PrivateKeyFile = ""
	c := dial(t, hs, target, "")
	if out, _, _, err := c.Capture(context.Background(), "echo via-agent"); err != nil || string(out) != "via-agent\n" {
		t.Errorf("Capture = %q, %v", out, err)
	}
	// An encrypted key file is fine when the agent holds the key.
	target.PrivateKeyFile = writeEncryptedKey(t)
	dial(t, hs, target, "")
}

func TestAuthFailureIsRetriedUntilTheKeyIsAuthorized(t *testing.T) {
	h := testworld.StartHost(t)
	h.Exec(t, "mv /home/ubuntu/.ssh/authorized_keys /root/ak")
	var sleeps int
	hs := newHosts(t, host.Options{Sleep: func(ctx context.Context, d time.Duration) error {
		sleeps++
		if sleeps == 2 {
			h.Shell("mv /root/ak /home/ubuntu/.ssh/authorized_keys")
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	}})
	c := dial(t, hs, targetFor(h), "")
	if sleeps != 2 {
		t.Errorf("connected after %d retries, want 2", sleeps)
	}
	c.Close()

	// Never authorized: the timeout error says why.
	h.Exec(t, "rm /home/ubuntu/.ssh/authorized_keys")
	hs = newHosts(t, host.Options{MinBackoff: 100 * time.Millisecond})
	target := targetFor(h)
	target.Timeout = time.Second
	target.Booting = true
	_, err := hs.Dial(context.Background(), target, "")
	var timeout *host.TimeoutError
	var auth *host.AuthError
	if !errors.As(err, &timeout) || !errors.As(err, &auth) {
		t.Fatalf("Dial = %v, want a TimeoutError wrapping an AuthError", err)
	}
	want := fmt.Sprintf("last error: authentication as ubuntu@%s failed with key %s (authorized_keys may not be set up yet)", h.HostPort(), h.KeyFile)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q\nwant it to contain %q", err, want)
	}
}

func TestDroppedConnectionFailsTheRun(t *testing.T) {
	h := testworld.StartHost(t)
	hs := newHosts(t, host.Options{})
	c := dial(t, hs, targetFor(h), "")
	started := make(chan struct{})
	type result struct {
		code int
		err  error
	}
	done := make(chan result)
	go func() {
		code, err := c.Run(context.Background(), "echo started; sleep 30; exit 0", func(_ layers.Stream, text string) {
			if text == "started" {
				close(started)
			}
		})
		done <- result{code, err}
	}()
	<-started
	h.Restart(t, false) // as a reboot: the connection drops
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("Run on a dropped connection = %d, nil; want an error", r.code)
		} else {
			t.Logf("Run error: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after the connection dropped")
	}
	if _, _, _, err := c.Capture(context.Background(), "true"); err == nil {
		t.Error("Capture on the dropped connection succeeded")
	}
	// Reconnect recovers.
	if err := c.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, code, err := c.Capture(context.Background(), "true"); err != nil || code != 0 {
		t.Errorf("Capture after Reconnect = %d, %v", code, err)
	}
}

func TestCancelKillsTheScript(t *testing.T) {
	h := testworld.StartHost(t)
	c := dial(t, newHosts(t, host.Options{}), targetFor(h), "")
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	_, err := c.Run(ctx, "echo started; sleep 37; echo never", func(_ layers.Stream, text string) {
		if text == "started" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Run returned %v after cancel", elapsed)
	}
	deadline := time.Now().Add(3 * time.Second)
	for strings.Contains(h.Exec(t, "ps -eo args"), "sleep 37") {
		if time.Now().After(deadline) {
			t.Fatal("remote script still running after cancel")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The connection is still usable.
	if out, _, _, err := c.Capture(context.Background(), "echo ok"); err != nil || string(out) != "ok\n" {
		t.Errorf("Capture after cancel = %q, %v", out, err)
	}
	if _, _, _, err := c.Capture(ctx, "echo no"); !errors.Is(err, context.Canceled) {
		t.Errorf("Capture with a cancelled context = %v", err)
	}
}

// fakeLayers records the Runner it was given.
type fakeLayers struct {
	r      layers.Runner
	closed bool
}

func (f *fakeLayers) HostKey() string { return "not this one" }
func (f *fakeLayers) Close() error    { f.closed = true; return nil }
func (f *fakeLayers) Probe(ctx context.Context, req providers.ProbeRequest) providers.ProbeResponse {
	out, _, _, _ := f.r.Capture(ctx, "echo probed")
	return providers.ProbeResponse{Statuses: []providers.LayerStatus{{Reasons: []string{strings.TrimSpace(string(out))}}}}
}
func (f *fakeLayers) Converge(context.Context, providers.ConvergeRequest) providers.ConvergeResponse {
	return providers.ConvergeResponse{}
}

func TestOpen(t *testing.T) {
	h := testworld.StartHost(t)
	var fake *fakeLayers
	hs := newHosts(t, host.Options{NewSession: func(r layers.Runner) providers.HostSession {
		fake = &fakeLayers{r: r}
		return fake
	}})
	var _ providers.Hosts = hs
	s, diags := hs.Open(context.Background(), targetFor(h), "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if s.HostKey() != h.HostKey {
		t.Errorf("session HostKey() = %q, want the verified key %q", s.HostKey(), h.HostKey)
	}
	if got := s.Probe(context.Background(), providers.ProbeRequest{}); got.Statuses[0].Reasons[0] != "probed" {
		t.Errorf("Probe = %+v", got)
	}
	if fake.r.User() != "ubuntu" {
		t.Errorf("Runner.User() = %q", fake.r.User())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !fake.closed {
		t.Error("layer session not closed")
	}
	if _, _, _, err := fake.r.Capture(context.Background(), "true"); err == nil {
		t.Error("Runner still usable after Close")
	}

	// By default the layer logic is package layers'.
	hs = newHosts(t, host.Options{})
	if len(hs.LayerSchemas()) == 0 {
		t.Error("no layer schemas by default")
	}
	s, diags = hs.Open(context.Background(), targetFor(h), h.HostKey)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer s.Close()
	if got := s.Probe(context.Background(), providers.ProbeRequest{}); got.Diagnostics.HasErrors() {
		t.Errorf("Probe of no layers: %v", got.Diagnostics)
	}
	if s.HostKey() != h.HostKey {
		t.Errorf("HostKey() = %q", s.HostKey())
	}
}

func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{"SSH_AUTH_SOCK": "/tmp/agent.sock", "MLOPS_TEST_LOOPBACK_ONLY": "1"}
	got := host.OptionsFromEnv(func(k string) string { return env[k] })
	if got.AgentSocket != "/tmp/agent.sock" || !got.LoopbackOnly {
		t.Errorf("OptionsFromEnv = %+v", got)
	}
}

func writeKey(t *testing.T, mode os.FileMode) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return path
}

func writeEncryptedKey(t *testing.T) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_encrypted")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLayersOverSSH runs package layers' real engine over the transport:
// probe, converge and probe again on one connection.
func TestLayersOverSSH(t *testing.T) {
	h := testworld.StartHost(t)
	hs := newHosts(t, host.Options{})
	before := h.Connections()
	s, diags := hs.Open(context.Background(), targetFor(h), "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer s.Close()
	addr, err := addrs.ParseLayer("host.gpu.layer.motd")
	if err != nil {
		t.Fatal(err)
	}
	cfg := cty.ObjectVal(map[string]cty.Value{
		"destination": cty.StringVal("/etc/motd.d/mlops"),
		"content":     cty.StringVal("hello from mlops\n"),
		"mode":        cty.StringVal("0644"),
	})
	layer := providers.Layer{Addr: addr, Kind: "file", Config: cfg, Digest: providers.LayerDigest("file", cfg)}
	ctx := context.Background()

	probe := s.Probe(ctx, providers.ProbeRequest{Layers: []providers.Layer{layer}})
	if probe.Diagnostics.HasErrors() || len(probe.Statuses) != 1 || probe.Statuses[0].Satisfied {
		t.Fatalf("first probe = %+v", probe)
	}
	conv := s.Converge(ctx, providers.ConvergeRequest{Layers: []providers.Layer{layer}})
	if conv.Diagnostics.HasErrors() || conv.Failed != nil {
		t.Fatalf("converge = %+v", conv)
	}
	probe = s.Probe(ctx, providers.ProbeRequest{Layers: []providers.Layer{layer}})
	if probe.Diagnostics.HasErrors() || !probe.Statuses[0].Satisfied {
		t.Fatalf("second probe = %+v", probe)
	}
	if got := h.Exec(t, "cat /etc/motd.d/mlops; stat -c %a /etc/motd.d/mlops"); got != "hello from mlops\n644\n" {
		t.Errorf("file on host = %q", got)
	}
	if got := h.Connections() - before; got != 1 {
		t.Errorf("%d SSH connections for probe, converge, probe; want 1", got)
	}
}
