package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// TestFarLinkDelaysSSH checks the latency scenario's plumbing against a
// real sandbox host: a tool run inside the namespace reaches the host at
// its own address, each round trip costs the link's delay, the process
// tree's CPU and memory are measured, and closing the link removes the
// namespace and the veth pair.
func TestFarLinkDelaysSSH(t *testing.T) {
	// Opt-in: the link failed now and then in CI (EOF through the
	// forwarder, not yet understood; see bench/README.md), and a flaky test
	// of the benchmark's own plumbing must not block the product's CI.
	if os.Getenv("MLOPS_BENCH_LINK_TEST") != "1" {
		t.Skip("the delayed-link test runs with MLOPS_BENCH_LINK_TEST=1")
	}
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

	link, err := newFarLink(100, hosts)
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
	link.close()
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), link.name) {
		t.Errorf("namespace %s is still there after close", link.name)
	}
	if err := exec.Command("ip", "link", "show", link.veth+"h").Run(); err == nil {
		t.Errorf("veth %sh is still there after close", link.veth)
	}
}
