package testworld

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A sandbox host boots the way a Debian or Ubuntu machine without systemd
// does, far enough for the packages the layers install to behave as they do
// on a real machine: the Docker daemon that docker.io's postinst starts, and
// stops again when the host stops.
//
// At every start of sshd (a boot), in the host's own mount namespace:
//   - sysfs on /sys and cgroup2 on /sys/fs/cgroup, which dockerd needs;
//   - a fresh tmpfs on /run, as at every boot (pid files, sockets, utmp);
//   - /run/utmp holds a runlevel record ("N 2"), as sysvinit writes it, so
//     `runlevel` answers and invoke-rc.d in a package's postinst starts the
//     package's service instead of saying "could not determine current
//     runlevel" (what it says in a bare chroot);
//   - services enabled for runlevel 2 that the sandbox supports (Docker)
//     are started, as init would.
//
// The host's /lib/lsb/init-functions.d/ (sourced by every init script)
// carries what the sandbox needs from init scripts: see sandboxInitHook.

// bootMounts is the part of the boot that runs in the new mount namespace
// before sshd is chrooted into $r, the host's root; "$r/../utmp" is the
// runlevel record setUpBoot wrote next to it. A failure is reported, not
// fatal: the host still serves SSH, without a Docker daemon.
const bootMounts = `
{ mount -t sysfs sysfs "$r/sys" && mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"; } ||
  echo "testworld: no sysfs or cgroup2: no Docker daemon on this host" >&2
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$r/run" &&
  mkdir -p "$r/run/sshd" "$r/run/lock" && chmod 1777 "$r/run/lock" &&
  cp "$r/../utmp" "$r/run/utmp" || echo "testworld: no tmpfs on /run" >&2
`

// sandboxInitHook is sourced by every init script in a sandbox host (Debian's
// /lib/lsb/init-functions runs the files in /lib/lsb/init-functions.d/).
// DOCKER_OPTS are the dockerd options the sandbox needs; docker.io's
// /etc/init.d/docker sources /etc/default/docker after this hook, so a
// setting there still wins.
const sandboxInitHook = `# mlops testworld: what init scripts need in a sandbox host.
# The sandbox cannot raise resource limits (it lacks CAP_SYS_RESOURCE);
# /etc/init.d/docker's "ulimit -n 1048576" would stop it under set -e.
ulimit() { command ulimit "$@" 2>/dev/null || true; }
# dockerd in a sandbox: vfs storage (no overlay on overlay), no bridge and no
# iptables (the host shares this machine's network), containers' cgroups
# under this host's own parent (removed when the host stops), and images
# pulled from the test world's registry on 127.0.0.1, not Docker Hub.
if [ "${BASE:-}" = docker ]; then
  DOCKER_OPTS="--storage-driver=vfs --iptables=false --ip6tables=false --bridge=none --cgroup-parent=/%s --registry-mirror=%s"
fi
`

// runlevelRecord is a utmp record of type RUN_LVL for runlevel 2 after N
// (none), as sysvinit writes it at boot (struct utmp of glibc on Linux,
// 384 bytes, little endian on amd64 and arm64).
func runlevelRecord() []byte {
	b := make([]byte, 384)
	binary.LittleEndian.PutUint16(b[0:], 1)                   // ut_type = RUN_LVL
	binary.LittleEndian.PutUint32(b[4:], uint32('2')+256*'N') // ut_pid = runlevel + 256*previous
	copy(b[8:], "~")                                          // ut_line
	copy(b[40:], "~~")                                        // ut_id
	copy(b[44:], "runlevel")                                  // ut_user
	return b
}

// setUpBoot writes what the boot needs: the runlevel record, the init
// scripts' hook and the host's cgroup parent name. registry is the URL of
// the host's image registry.
func (h *Host) setUpBoot(registry string) error {
	if err := os.WriteFile(filepath.Join(h.dir, "utmp"), runlevelRecord(), 0o644); err != nil {
		return err
	}
	token := make([]byte, 6)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	h.cgroupParent = "mlops-sandbox-" + hex.EncodeToString(token)
	dir := filepath.Join(h.Root, "lib/lsb/init-functions.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hook := fmt.Sprintf(sandboxInitHook, h.cgroupParent, registry)
	if err := os.WriteFile(filepath.Join(dir, "10-mlops-sandbox"), []byte(hook), 0o644); err != nil {
		return err
	}
	return pinDockerHubToLoopback(filepath.Join(h.Root, "etc/hosts"))
}

// dockerHubNames are the hosts dockerd falls back to when its registry
// mirror fails. A sandbox host resolves them to 127.0.0.1, where nothing
// answers on 443, so a pull that misses the test world's registry fails
// instead of leaving the machine.
var dockerHubNames = []string{"registry-1.docker.io", "index.docker.io", "auth.docker.io", "production.cloudflare.docker.com"}

func pinDockerHubToLoopback(hostsFile string) error {
	b, err := os.ReadFile(hostsFile)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	line := "127.0.0.1 " + strings.Join(dockerHubNames, " ")
	if strings.Contains(string(b), line) {
		return nil
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return os.WriteFile(hostsFile, append(b, line+"\n"...), 0o644)
}

// dockerEnabled reports whether docker.io is installed and enabled for
// runlevel 2 (its postinst links /etc/rc2.d/S01docker).
func (h *Host) dockerEnabled() bool {
	links, _ := filepath.Glob(filepath.Join(h.Root, "etc/rc2.d/S[0-9][0-9]docker"))
	return len(links) > 0
}

// bootServices starts the enabled services the sandbox supports, as init
// does at boot: the Docker daemon once docker.io is installed.
func (h *Host) bootServices() error {
	if !h.dockerEnabled() {
		return nil
	}
	if _, err := h.Shell("/etc/init.d/docker start"); err != nil {
		return fmt.Errorf("starting docker at boot: %w", err)
	}
	return nil
}

// stopServices stops the Docker daemon as a shutdown does: dockerd gets
// SIGTERM, stops its containers and its containerd, and exits (the init
// script waits up to 10 s, then kills it). Whatever is left dies with sshd,
// PID 1 of the host's namespace.
func (h *Host) stopServices(pid int) {
	if _, err := os.Stat(filepath.Join(h.Root, "usr/sbin/dockerd")); err != nil {
		return
	}
	if out, err := h.shellAt(pid, `if [ -f /run/docker-ssd.pid ]; then /etc/init.d/docker stop; fi`); err != nil {
		h.logf("testworld: host %s: stopping docker: %v\n%s", h.Addr, err, out)
	}
}

// removeCgroups removes the cgroups dockerd made for this host's containers
// under its cgroup parent, deepest first, once their processes are gone.
// Cgroups outlive the namespaces of the processes in them, so without this
// every host that ran a container would leave directories behind in this
// machine's cgroup2 hierarchy.
func (h *Host) removeCgroups() {
	if h.cgroupParent == "" {
		return
	}
	mnt, err := cgroup2Mount()
	if err != nil || mnt == "" {
		return
	}
	top := filepath.Join(mnt, h.cgroupParent)
	var dirs []string
	filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	// The processes killed with sshd may take a moment to leave them.
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for try := 0; try < 40; try++ {
			if err = os.Remove(dirs[i]); err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.logf("testworld: host %s: removing cgroup %s: %v", h.Addr, dirs[i], err)
		}
	}
}

// cgroup2Mount returns where this machine mounts its cgroup2 hierarchy
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid setup); "" when
// it has none.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		fields, fstype := strings.Fields(pre), strings.Fields(post)
		if len(fields) >= 5 && len(fstype) > 0 && fstype[0] == "cgroup2" && fields[3] == "/" {
			return fields[4], nil
		}
	}
	return "", s.Err()
}
