package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/sys/unix"
)

// TestFarLinkDelaysSSH checks the latency scenario's plumbing against a
// real sandbox host: a tool run inside the namespace reaches the host at
// its own address, each round trip costs the link's delay, the process
// tree's CPU and memory are measured, the namespace has no way out but
// the forwarder, many connections at once all get through, and closing the
// link removes the namespace.
func TestFarLinkDelaysSSH(t *testing.T) {
	if os.Geteuid() != 0 || haveNetTools() != nil {
		if os.Getenv("MLOPS_REQUIRE_SANDBOX") == "1" {
			t.Fatal("needs root, ip and tc")
		}
		t.Skip("needs root, ip and tc")
	}
	hosts := testworld.StartHosts(t, 1)
	h := hosts[0]
	kh := t.TempDir() + "/known_hosts"
	if err := knownHosts(kh, hosts); err != nil {
		t.Fatal(err)
	}
	ssh := func(link *farLink, cmd string) toolRun {
		t.Helper()
		s := &toolStack{name: "ssh", dir: t.TempDir(), env: []string{"PATH=" + os.Getenv("PATH")}, hosts: hosts, link: link}
		r, err := s.run([]string{"ssh", "-p", strconv.Itoa(h.Port), "-i", h.KeyFile, "-o", "UserKnownHostsFile=" + kh,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", h.User + "@" + h.Addr, cmd})
		if err != nil || r.code != 0 {
			t.Fatalf("ssh: %v %s", err, r)
		}
		return r
	}
	near := ssh(nil, "true")

	link, err := newFarLink(100, hosts, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer link.close()
	far := ssh(link, "echo over-the-link")
	if !strings.Contains(far.stdout, "over-the-link") {
		t.Fatalf("ssh through the link: %s", far)
	}
	t.Logf("ssh login + command: %v on loopback, %v through the 100 ms link", near.wall, far.wall)
	// An SSH login and one command take several round trips (TCP, key
	// exchange, authentication, the session): at 100 ms each, well over
	// 400 ms more than on loopback.
	if far.wall-near.wall < 400*time.Millisecond {
		t.Errorf("ssh took %v through a 100 ms link and %v on loopback: the delay is missing", far.wall, near.wall)
	}
	if far.conns[0] != 1 || far.sessions[0] != 1 {
		t.Errorf("the host saw %d login(s) and %d command(s), want 1 and 1", far.conns[0], far.sessions[0])
	}
	if far.usage.cpu <= 0 || far.usage.rssKB < 1024 {
		t.Errorf("usage of ssh's process tree: %+v, want some CPU and at least 1 MB", far.usage)
	}
	// Nothing in the namespace but its loopback.
	out, err := exec.Command("ip", "-n", link.name, "-o", "link", "show").Output()
	if err != nil || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 || !strings.Contains(string(out), ": lo:") {
		t.Errorf("interfaces in namespace %s: %q %v, want only lo", link.name, out, err)
	}
	// A fleet's worth of connections at once (the bench runs 50 hosts):
	// every one reads sshd's banner through the forwarder.
	const conns = 60
	errs := make(chan error, conns)
	for range conns {
		go func() {
			var err error
			if e := link.inNamespace(func() {
				var c net.Conn
				if c, err = net.DialTimeout("tcp", h.HostPort(), 5*time.Second); err != nil {
					return
				}
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b := make([]byte, 64)
				var n int
				n, err = c.Read(b)
				if err == nil && !strings.HasPrefix(string(b[:n]), "SSH-2.0-") {
					err = fmt.Errorf("read %q, want sshd's banner", b[:n])
				}
			}); e != nil {
				err = e
			}
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Errorf("one of %d connections at once: %v", conns, err)
		}
	}
	link.close()
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), link.name) {
		t.Errorf("namespace %s is still there after close", link.name)
	}
}

// TestInNamespaceKeepsItsThread: the thread that joined the namespace
// lives on, back in this machine's namespace. A thread that died there
// would take with it every sandbox host it had started (their unshare has
// Pdeathsig, which follows the forking thread).
func TestInNamespaceKeepsItsThread(t *testing.T) {
	if os.Geteuid() != 0 || haveNetTools() != nil {
		if os.Getenv("MLOPS_REQUIRE_SANDBOX") == "1" {
			t.Fatal("needs root, ip and tc")
		}
		t.Skip("needs root, ip and tc")
	}
	name := fmt.Sprintf("mlopsbenchtest%d", os.Getpid())
	if err := ipCmd("ip", "netns", "add", name); err != nil {
		t.Fatal(err)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	ns, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	l := &farLink{name: name, nsFile: ns}
	home, _ := os.Readlink("/proc/self/ns/net")
	for range 20 {
		var tid int
		var inside string
		if err := l.inNamespace(func() {
			tid = unix.Gettid()
			inside, _ = os.Readlink("/proc/thread-self/ns/net")
		}); err != nil {
			t.Fatal(err)
		}
		if inside == home {
			t.Fatalf("f ran in this machine's namespace %s, not in %s", home, name)
		}
		now, err := os.Readlink(fmt.Sprintf("/proc/self/task/%d/ns/net", tid))
		if err != nil {
			t.Fatalf("thread %d that ran f is gone: %v", tid, err)
		}
		if now != home {
			t.Fatalf("thread %d is still in %s, want %s", tid, now, home)
		}
	}
}
