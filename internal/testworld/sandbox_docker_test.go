package testworld

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSandboxDocker installs docker.io on a sandbox host as a person would
// (apt-get, about a minute) and checks what the harness promises: the
// package's postinst starts the daemon as on a real machine, the user in
// the docker group runs hello-world pulled from the test world's registry,
// a reboot starts the daemon again, and a stopped host leaves no process
// and no cgroup behind.
func TestSandboxDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("installs docker.io on a sandbox host (about a minute)")
	}
	h := StartHost(t)
	// Docker Hub, dockerd's fallback when the mirror fails, is loopback here.
	if got := h.Exec(t, "getent hosts registry-1.docker.io"); !strings.HasPrefix(got, "127.0.0.1 ") {
		t.Fatalf("registry-1.docker.io resolves to %q in a sandbox host, want 127.0.0.1", got)
	}
	h.Exec(t, "apt-get update -qq && apt-get install -y -qq docker.io >/dev/null")
	// The postinst started dockerd through invoke-rc.d, as systemd would.
	if got := h.Exec(t, "cat /proc/$(cat /run/docker.pid)/comm"); got != "dockerd\n" {
		t.Fatalf("after installing docker.io, /run/docker.pid names %q", got)
	}
	waitDocker(t, h)
	h.Exec(t, "usermod -aG docker ubuntu")
	c := dialHost(t, h, "ubuntu")
	out := run(t, c, "docker run --rm hello-world 2>&1")
	if !strings.Contains(out, "Hello from Docker!") || !strings.Contains(out, "Pulling from library/hello-world") {
		t.Errorf("docker run --rm hello-world as ubuntu:\n%s", out)
	}
	if h.Registry.Pulls() != 1 {
		t.Errorf("registry served %d pulls, want 1", h.Registry.Pulls())
	}
	cgroup := h.cgroupParent

	// A reboot: the daemon is enabled, so it runs again, with its images.
	h.Restart(t, false)
	waitDocker(t, h)
	c = dialHost(t, h, "ubuntu")
	if out := run(t, c, "docker run --rm hello-world 2>&1"); !strings.Contains(out, "Hello from Docker!") || strings.Contains(out, "Pulling") {
		t.Errorf("docker run after a reboot:\n%s", out)
	}

	// Stop: dockerd and containerd are gone, and so is the host's cgroup.
	h.Stop()
	if pids := processesUnder(h.Root); len(pids) > 0 {
		t.Errorf("processes left after Stop: %v", pids)
	}
	if mnt, _ := cgroup2Mount(); mnt != "" {
		if _, err := os.Stat(filepath.Join(mnt, cgroup)); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left after Stop: %v", cgroup, err)
		}
	}
}

// waitDocker waits up to 30 s until the host's dockerd answers.
func waitDocker(t *testing.T, h *Host) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := h.Shell("docker version >/dev/null")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := h.Shell("tail -n 20 /var/log/docker.log")
			t.Fatalf("dockerd does not answer: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesUnder lists the processes whose root directory is root.
func processesUnder(root string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if r, err := os.Readlink(d + "/root"); err == nil && r == root {
			comm, _ := os.ReadFile(d + "/comm")
			out = append(out, filepath.Base(d)+" "+strings.TrimSpace(string(comm)))
		}
	}
	return out
}
