package testworld

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// dialHost logs in to h as user with h.KeyFile, verifying h.HostKey.
func dialHost(t *testing.T, h *Host, user string) *ssh.Client {
	t.Helper()
	pem, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(h.Addr); ip == nil || !ip.IsLoopback() {
		t.Fatalf("host address %q is not loopback", h.Addr)
	}
	c, err := ssh.Dial("tcp", h.HostPort(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(want),
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s: %v\nsshd log:\n%s", user, h.HostPort(), err, h.SSHDLog())
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stderr bytes.Buffer
	s.Stderr = &stderr
	out, err := s.Output(cmd)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	return string(out)
}

func TestSandboxHosts(t *testing.T) {
	start := time.Now()
	hosts := StartHosts(t, 2)
	t.Logf("2 hosts up in %v", time.Since(start))
	a, b := hosts[0], hosts[1]
	if a.Addr == b.Addr {
		t.Fatalf("hosts share address %s", a.Addr)
	}
	if a.HostKey == b.HostKey {
		t.Fatal("hosts share a host key")
	}
	if fi, err := os.Stat(a.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: mode %v, err %v; want 0600", a.KeyFile, fi.Mode(), err)
	}

	ca := dialHost(t, a, "ubuntu")
	cb := dialHost(t, b, "ubuntu")
	if got := strings.TrimSpace(run(t, ca, "whoami")); got != "ubuntu" {
		t.Errorf("whoami = %q", got)
	}
	if got := strings.TrimSpace(run(t, ca, "sudo -n id -u")); got != "0" {
		t.Errorf("sudo id -u = %q", got)
	}
	run(t, ca, "echo from-a > /home/ubuntu/marker && sudo sh -c 'echo a > /etc/only-a'")
	run(t, cb, "echo from-b > /home/ubuntu/marker")

	if got := a.Exec(t, "cat /home/ubuntu/marker"); got != "from-a\n" {
		t.Errorf("host a marker = %q", got)
	}
	if got := b.Exec(t, "cat /home/ubuntu/marker"); got != "from-b\n" {
		t.Errorf("host b marker = %q", got)
	}
	if got := b.Exec(t, "test -e /etc/only-a && echo leaked || echo separate"); got != "separate\n" {
		t.Errorf("host b sees host a's file: %q", got)
	}
	if _, err := os.Stat(a.rootfs + "/etc/only-a"); err == nil {
		t.Error("write reached the cached rootfs")
	}

	// Exec runs in the host's PID namespace: it sees sshd as PID 1.
	if got := strings.TrimSpace(a.Exec(t, "cat /proc/1/comm")); got != "sshd" {
		t.Errorf("PID 1 in host = %q, want sshd", got)
	}
	if _, err := a.Shell("exit 3"); err == nil {
		t.Error("Shell(exit 3) succeeded")
	}

	// Root logs in with the same key.
	cr := dialHost(t, a, "root")
	if got := strings.TrimSpace(run(t, cr, "id -u")); got != "0" {
		t.Errorf("root id -u = %q", got)
	}
	if got := a.Connections(); got != 2 {
		t.Errorf("host a Connections() = %d, want 2", got)
	}
	if got := b.Connections(); got != 1 {
		t.Errorf("host b Connections() = %d, want 1", got)
	}
}

func TestSandboxRestart(t *testing.T) {
	h := StartHost(t)
	c := dialHost(t, h, "ubuntu")
	run(t, c, "touch /home/ubuntu/kept")
	oldKey := h.HostKey

	h.Restart(t, false)
	if h.HostKey != oldKey {
		t.Error("Restart(false) changed the host key")
	}
	if _, err := c.NewSession(); err == nil {
		t.Error("connection survived the restart")
	}
	c = dialHost(t, h, "ubuntu")
	run(t, c, "test -e /home/ubuntu/kept")

	h.Restart(t, true)
	if h.HostKey == oldKey {
		t.Error("Restart(true) kept the host key")
	}
	dialHost(t, h, "ubuntu") // verifies the new h.HostKey
	if got := h.Connections(); got != 3 {
		t.Errorf("Connections() = %d, want 3 (counted across restarts)", got)
	}

	h.Stop()
	h.Stop()
	if _, err := net.DialTimeout("tcp", h.HostPort(), time.Second); err == nil {
		t.Error("sshd still listening after Stop")
	}
	if entries, _ := os.ReadDir(h.Root); len(entries) != 0 {
		t.Errorf("overlay still mounted after Stop: %d entries", len(entries))
	}
}

func TestStartHostsForDemo(t *testing.T) {
	requireSandbox(t)
	hosts, stop, err := StartHostsForDemo(1, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dialHost(t, hosts[0], "ubuntu")
	stop()
	if _, err := os.Stat(hosts[0].KeyFile); !os.IsNotExist(err) {
		t.Errorf("key file left behind after stop: %v", err)
	}
}

// TestHostCPUTime: a login that burns CPU on the host shows in the host's
// CPU time once it has ended, and an idle host's does not move.
func TestHostCPUTime(t *testing.T) {
	h := StartHost(t)
	before := h.CPUTime()
	c := dialHost(t, h, "ubuntu")
	// About 0.3 s of CPU in bash, whatever the machine's load.
	run(t, c, `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo $i`)
	c.Close()
	var spent time.Duration
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if spent = h.CPUTime() - before; spent >= 200*time.Millisecond {
			break
		}
	}
	if spent < 200*time.Millisecond {
		t.Fatalf("the host's CPU time grew by %v after a login that ran a 300000-step bash loop, want at least 200ms", spent)
	}
	t.Logf("a login running a 300000-step bash loop: %v of the host's CPU", spent)
	idle := h.CPUTime()
	time.Sleep(300 * time.Millisecond)
	if moved := h.CPUTime() - idle; moved > 30*time.Millisecond {
		t.Errorf("an idle host's CPU time moved by %v in 300 ms", moved)
	}
}

// TestHostOutlivesStartingThread: a host (re)started from a goroutine
// whose OS thread then ends keeps running (Linux sends Pdeathsig when the
// thread that forked unshare ends, so unshare must not be forked there),
// and when its sshd dies anyway, the host's log function says so, with the
// way it ended.
func TestHostOutlivesStartingThread(t *testing.T) {
	requireSandbox(t)
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	hosts, stop, err := StartHostsForDemo(1, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h := hosts[0]
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		errc <- h.restart(false)
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the thread has ended by now
	dialHost(t, h, "ubuntu").Close()

	h.mu.Lock()
	pid := h.sshdPID
	h.mu.Unlock()
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		text := strings.Join(logged, "\n")
		mu.Unlock()
		if strings.Contains(text, "sshd exited while in use") {
			t.Logf("logged: %s", text)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd was killed, and the log function got %q, want a line saying so", text)
		}
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(strings.Join(logged, "\n"), "exited while in use"); n != 1 {
		t.Errorf("%d lines say sshd exited while in use, want 1 (stopping or restarting a host is not an unexpected exit)", n)
	}
}
