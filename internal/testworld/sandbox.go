// Package testworld is the test harness: the peers mlops is tested against
// (OpenSSH sandbox hosts, the moto AWS server, a download server), all
// listening on 127.0.0.0/8.
package testworld

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Host is a sandbox SSH host: OpenSSH's sshd running in its own mount and PID
// namespace, chrooted into an overlay over the cached Debian rootfs, listening
// on its own loopback address. The user ubuntu (passwordless sudo) and root
// accept KeyFile. Writes land in the host's own upper directory, so hosts
// never see each other's changes and the cache stays pristine.
type Host struct {
	Addr    string // loopback address, 127.0.0.2 and up, unique within the process
	Port    int
	User    string // "ubuntu"
	KeyFile string // ed25519 private key (OpenSSH format, mode 0600) authorized for User and root
	// HostKey is the host's public key in authorized_keys format
	// ("ssh-ed25519 AAAA..."); sshd serves only this key.
	HostKey string
	Root    string // the merged root filesystem, as seen from this machine

	dir    string // holds upper/, work/, merged/ and sshd.log
	rootfs string
	logf   func(format string, args ...any)

	mu      sync.Mutex
	cmd     *exec.Cmd     // the unshare process, nil while sshd is down
	exited  chan struct{} // closed when cmd has been waited for
	sshdPID int           // sshd's PID as seen from this machine (PID 1 in its namespace)
	mounted bool

	// Registry is the image registry this host's dockerd pulls from (see
	// sandbox_boot.go); cgroupParent holds its containers' cgroups.
	Registry     *Registry
	cgroupParent string
}

// HostPort is "Addr:Port".
func (h *Host) HostPort() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// StartHost starts one sandbox host and stops it when the test ends. It
// builds the cached rootfs first if it is missing (about a minute, once).
func StartHost(t testing.TB) *Host {
	t.Helper()
	return StartHosts(t, 1)[0]
}

// StartHosts starts n sandbox hosts that share one client key (KeyFile) and
// stops them when the test ends.
func StartHosts(t testing.TB, n int) []*Host {
	t.Helper()
	requireSandbox(t)
	dir := t.TempDir()
	hosts, err := startHosts(dir, n, t.Logf)
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		for _, h := range hosts {
			h.Stop()
		}
	})
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	return hosts
}

// StartHostsForDemo starts n sandbox hosts outside of a test, for demos and
// manual runs. stop stops them and removes their files; call it on every
// path (it is safe to call more than once).
func StartHostsForDemo(n int, logf func(format string, args ...any)) ([]*Host, func(), error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := sandboxSupported(); err != nil {
		return nil, func() {}, err
	}
	dir, err := os.MkdirTemp("", "mlops-sandbox-")
	if err != nil {
		return nil, func() {}, err
	}
	hosts, err := startHosts(dir, n, logf)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			for _, h := range hosts {
				h.Stop()
			}
			os.RemoveAll(dir)
		})
	}
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	return hosts, stop, nil
}

// requireSandbox skips the test where sandbox hosts cannot run (not root, not
// Linux, tools missing); set MLOPS_REQUIRE_SANDBOX=1 to fail instead.
func requireSandbox(t testing.TB) {
	t.Helper()
	if err := sandboxSupported(); err != nil {
		if os.Getenv("MLOPS_REQUIRE_SANDBOX") == "1" {
			t.Fatalf("testworld: %v", err)
		}
		t.Skipf("testworld: sandbox hosts unavailable: %v", err)
	}
}

func sandboxSupported() error {
	if err := platformSupported(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("sandbox hosts need root (mount, chroot, unshare)")
	}
	for _, tool := range []string{"unshare", "nsenter", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (util-linux/coreutils)", tool)
		}
	}
	return nil
}

// startHosts is the one code path behind StartHosts and StartHostsForDemo.
// It returns the hosts started so far even on error, so they can be stopped.
func startHosts(dir string, n int, logf func(string, ...any)) ([]*Host, error) {
	rootfs, err := EnsureRootfs(logf)
	if err != nil {
		return nil, err
	}
	keyFile, authorized, err := writeClientKey(dir)
	if err != nil {
		return nil, err
	}
	var hosts []*Host
	for i := range n {
		h := &Host{
			Addr:    nextLoopbackAddr(),
			User:    "ubuntu",
			KeyFile: keyFile,
			dir:     filepath.Join(dir, fmt.Sprintf("host%d", i)),
			rootfs:  rootfs,
			logf:    logf,
		}
		hosts = append(hosts, h)
		start := time.Now()
		if err := h.setUp(authorized); err != nil {
			return hosts, fmt.Errorf("host %s: %w", h.Addr, err)
		}
		if err := h.startSSHD(true); err != nil {
			return hosts, fmt.Errorf("host %s: %w", h.Addr, err)
		}
		logf("testworld: host %s up in %v", h.HostPort(), time.Since(start).Round(time.Millisecond))
	}
	return hosts, nil
}

var loopbackCounter atomic.Uint32

// nextLoopbackAddr hands out 127.0.0.2, 127.0.0.3, ... (skipping .0, .1 and
// .255 of each /24), unique within the process. Other processes may use the
// same addresses; their ports differ.
func nextLoopbackAddr() string {
	n := loopbackCounter.Add(1) - 1
	return fmt.Sprintf("127.%d.%d.%d", (n/253)/254%256, (n/253)%254, n%253+2)
}

// CacheDir is where the harness keeps its downloads and builds:
// $MLOPS_CACHE_DIR, else <repo>/.cache (the repo root is the directory with
// go.mod, found from the working directory upwards).
func CacheDir() (string, error) {
	if d := os.Getenv("MLOPS_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache"), nil
}

// RepoRoot is the nearest directory at or above the working directory that
// holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// rootfsMarker is written last by scripts/sandbox-rootfs.
const rootfsMarker = ".mlops-rootfs-ok"

// EnsureRootfs returns the cached rootfs directory, building it with
// scripts/sandbox-rootfs if it is missing (debootstrap, about a minute; its
// log goes to stderr).
func EnsureRootfs(logf func(string, ...any)) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	rootfs := filepath.Join(cache, "rootfs")
	if strings.ContainsAny(rootfs, ",:") {
		return "", fmt.Errorf("rootfs path %q contains ',' or ':', which overlayfs options cannot carry", rootfs)
	}
	if _, err := os.Stat(filepath.Join(rootfs, rootfsMarker)); err == nil {
		return rootfs, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("rootfs %s is missing and scripts/sandbox-rootfs cannot be found: %w", rootfs, err)
	}
	script := filepath.Join(root, "scripts", "sandbox-rootfs")
	logf("testworld: building the sandbox rootfs in %s (debootstrap, about a minute)", rootfs)
	start := time.Now()
	cmd := exec.Command(script, rootfs)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w", script, rootfs, err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, rootfsMarker)); err != nil {
		return "", fmt.Errorf("%s finished but %s is not ready: %w", script, rootfs, err)
	}
	logf("testworld: rootfs built in %v", time.Since(start).Round(time.Second))
	return rootfs, nil
}

// writeClientKey writes a fresh ed25519 client key to dir/id_ed25519 (0600)
// and returns its path and authorized_keys line.
func writeClientKey(dir string) (path string, authorized []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "mlops-testworld")
	if err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", nil, err
	}
	authorized = ssh.MarshalAuthorizedKey(sshPub)
	if err := os.WriteFile(path+".pub", authorized, 0o644); err != nil {
		return "", nil, err
	}
	return path, authorized, nil
}

// setUp mounts the overlay and writes the per-host files: a fresh host key,
// authorized_keys for ubuntu and root, resolv.conf.
func (h *Host) setUp(authorized []byte) error {
	upper, work := filepath.Join(h.dir, "upper"), filepath.Join(h.dir, "work")
	h.Root = filepath.Join(h.dir, "merged")
	for _, d := range []string{upper, work, h.Root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := mountOverlay(h.rootfs, upper, work, h.Root); err != nil {
		return err
	}
	h.mounted = true
	if err := h.newHostKey(); err != nil {
		return err
	}
	reg, err := startRegistry()
	if err != nil {
		return err
	}
	h.Registry = reg
	if err := h.setUpBoot(reg.URL()); err != nil {
		return err
	}
	for _, home := range []string{"/home/ubuntu", "/root"} {
		uid, gid, err := h.owner(home)
		if err != nil {
			return err
		}
		sshDir := filepath.Join(h.Root, home, ".ssh")
		if err := os.MkdirAll(sshDir, 0o700); err != nil {
			return err
		}
		file := filepath.Join(sshDir, "authorized_keys")
		if err := os.WriteFile(file, authorized, 0o600); err != nil {
			return err
		}
		for _, p := range []string{sshDir, file} {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	if resolv, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		os.Remove(filepath.Join(h.Root, "etc/resolv.conf"))
		if err := os.WriteFile(filepath.Join(h.Root, "etc/resolv.conf"), resolv, 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(h.Root, "run/sshd"), 0o755)
}

// owner returns the numeric owner of a path inside the host.
func (h *Host) owner(path string) (uid, gid int, err error) {
	fi, err := os.Stat(filepath.Join(h.Root, path))
	if err != nil {
		return 0, 0, err
	}
	return fileOwner(fi)
}

// newHostKey replaces all host keys by one fresh ed25519 key.
func (h *Host) newHostKey() error {
	old, _ := filepath.Glob(filepath.Join(h.Root, "etc/ssh/ssh_host_*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "root@"+h.Addr)
	if err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(h.Root, "etc/ssh/ssh_host_ed25519_key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	line := ssh.MarshalAuthorizedKey(sshPub)
	if err := os.WriteFile(keyPath+".pub", line, 0o644); err != nil {
		return err
	}
	h.HostKey = strings.TrimSpace(string(line))
	return nil
}

func (h *Host) logPath() string { return filepath.Join(h.dir, "sshd.log") }

// startSSHD starts sshd and waits until it listens. With pickPort it chooses
// a free port (and retries another one if it is taken meanwhile); else it
// reuses h.Port.
func (h *Host) startSSHD(pickPort bool) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if pickPort {
			port, err := freePortOn(h.Addr)
			if err != nil {
				return err
			}
			h.Port = port
		}
		lastErr = h.tryStartSSHD()
		if lastErr == nil {
			return h.bootServices()
		}
		if !pickPort {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return lastErr
}

func freePortOn(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (h *Host) tryStartSSHD() error {
	logFile, err := os.OpenFile(h.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	fi, err := logFile.Stat()
	if err != nil {
		return err
	}
	offset := fi.Size()
	// Inside the new mount namespace (private: nothing leaks to this
	// machine) a devpts instance of its own gives the host terminals, as
	// `ssh -t` and mlops ssh want; then sh execs chroot, which execs sshd.
	cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "--kill-child",
		"--mount-proc="+filepath.Join(h.Root, "proc"),
		"sh", "-c", `r=$1; shift
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$r/dev/pts" &&
  mount --bind "$r/dev/pts/ptmx" "$r/dev/ptmx" || echo "testworld: no devpts: no terminals on this host" >&2`+bootMounts+`
exec chroot "$r" "$@"`, "sh", h.Root,
		"/usr/sbin/sshd", "-D", "-e",
		"-p", strconv.Itoa(h.Port),
		"-o", "ListenAddress="+h.Addr,
		"-o", "HostKey=/etc/ssh/ssh_host_ed25519_key",
		"-o", "LogLevel=VERBOSE",
		"-o", "PasswordAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no",
		"-o", "UseDNS=no",
		"-o", "MaxStartups=100",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.SysProcAttr = childProcAttr()
	// Linux sends unshare its Pdeathsig when the thread that started it
	// exits, not the process, and Go ends a thread when a goroutine locked
	// to it ends. So unshare is started from a goroutine locked to its
	// thread for as long as the host runs: no other goroutine can end that
	// thread early, and the host dies with this process only.
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		h.mu.Lock()
		unexpected := h.cmd == cmd // stopSSHD clears h.cmd before it kills
		h.mu.Unlock()
		if unexpected {
			text, _ := readFrom(h.logPath(), offset)
			h.logf("testworld: host %s: sshd exited while in use (%v); its log ends:\n%s", h.HostPort(), exitStatus(cmd, err), lastLines(text, 20))
		}
		close(exited)
	}()
	if err := <-started; err != nil {
		return err
	}

	want := fmt.Sprintf("Server listening on %s port %d", h.Addr, h.Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		text, _ := readFrom(h.logPath(), offset)
		if strings.Contains(text, want) {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("sshd on %s exited while starting:\n%s", h.HostPort(), text)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd on %s did not start listening within 10s:\n%s", h.HostPort(), text)
		}
	}
	pid, err := childPID(cmd.Process.Pid)
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return err
	}
	h.mu.Lock()
	h.cmd, h.exited, h.sshdPID = cmd, exited, pid
	h.mu.Unlock()
	return nil
}

// exitStatus describes how cmd ended: its exit code or the signal that
// killed it.
func exitStatus(cmd *exec.Cmd, err error) string {
	if cmd.ProcessState == nil {
		return fmt.Sprint(err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "unshare killed by " + ws.Signal().String()
	}
	return "unshare " + cmd.ProcessState.String()
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readFrom(path string, offset int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// childPID returns the only child of pid (unshare's forked child, which
// execs chroot and then sshd).
func childPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0, fmt.Errorf("unshare (pid %d) has children %q, want one", pid, f)
	}
	return strconv.Atoi(f[0])
}

// stopSSHD kills sshd (and with it every session, as it is PID 1 of its
// namespace) and waits until it is gone, so that its port is free again.
func (h *Host) stopSSHD() {
	h.mu.Lock()
	cmd, exited, pid := h.cmd, h.exited, h.sshdPID
	h.cmd, h.exited, h.sshdPID = nil, nil, 0
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	h.stopServices(pid)
	killPID(pid)
	cmd.Process.Kill() // unshare ignores SIGTERM while it waits
	<-exited
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	h.removeCgroups()
}

// Stop kills sshd and unmounts the host's file systems. It is safe to call
// more than once; tests need not call it (StartHost registers it as a
// cleanup).
func (h *Host) Stop() {
	h.stopSSHD()
	if h.Registry != nil {
		h.Registry.Close()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.mounted {
		return
	}
	unmount(filepath.Join(h.Root, "proc")) // normally only mounted in sshd's namespace
	if err := unmount(h.Root); err != nil {
		h.logf("testworld: unmount %s: %v", h.Root, err)
		return
	}
	h.mounted = false
}

// Restart restarts sshd on the same address and port, as a reboot would:
// open connections drop, files persist. With newHostKey the host gets a new
// host key (HostKey changes), as a rebuilt machine would.
func (h *Host) Restart(t testing.TB, newHostKey bool) {
	t.Helper()
	if err := h.restart(newHostKey); err != nil {
		t.Fatalf("testworld: restart %s: %v", h.HostPort(), err)
	}
}

func (h *Host) restart(newHostKey bool) error {
	h.stopSSHD()
	if newHostKey {
		if err := h.newHostKey(); err != nil {
			return err
		}
	}
	return h.startSSHD(false)
}

// Connections counts the connections sshd accepted on this host since it
// started (across restarts). It counts sshd's "Connection from" lines, which
// sshd writes as soon as it accepts the TCP connection, long before the key
// exchange: once a client's handshake returned, its line is in the log.
// (The "Accepted publickey" line comes from the monitor process and can
// land after the client already got its answer.)
func (h *Host) Connections() int {
	b, err := os.ReadFile(h.logPath())
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("Connection from "))
}

// SSHDLog returns sshd's log (stderr at LogLevel VERBOSE), for debugging.
func (h *Host) SSHDLog() string {
	b, _ := os.ReadFile(h.logPath())
	return string(b)
}

// Exec runs cmd with bash as root inside the host (its chroot, and its PID
// namespace while sshd runs, so ps and kill see the host's processes) and
// returns its stdout. A failure fails the test, with stderr.
func (h *Host) Exec(t testing.TB, cmd string) string {
	t.Helper()
	out, err := h.Shell(cmd)
	if err != nil {
		t.Fatalf("testworld: host %s: %s: %v", h.Addr, cmd, err)
	}
	return out
}

// Shell is Exec without a test: it returns stdout, and an error that
// includes stderr when cmd fails.
func (h *Host) Shell(cmd string) (string, error) {
	h.mu.Lock()
	pid := h.sshdPID
	h.mu.Unlock()
	return h.shellAt(pid, cmd)
}

// shellAt is Shell in the namespaces of sshd's pid (0: a plain chroot).
func (h *Host) shellAt(pid int, cmd string) (string, error) {
	var c *exec.Cmd
	if pid != 0 {
		c = exec.Command("nsenter", "--target", strconv.Itoa(pid), "--mount", "--pid", "--root", "--wd=/", "/bin/bash", "-c", cmd)
	} else {
		c = exec.Command("chroot", h.Root, "/bin/bash", "-c", cmd)
	}
	c.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "USER=root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if state, ok := strings.CutPrefix(s.Text(), "State:"); ok {
			return !strings.HasPrefix(strings.TrimSpace(state), "Z")
		}
	}
	return false
}

// CPUTime is the CPU time (user and system) that the host's sshd and every
// process it has reaped used since the host started: the logins and their
// shells and commands, once each has ended. sshd is PID 1 of the host's
// PID namespace, so it also reaps orphans that ended; daemons still
// running (dockerd) are not in it. The benchmark reads it before and
// after a tool's run: the difference is what the run cost the host.
// It is 0 while sshd is down.
func (h *Host) CPUTime() time.Duration {
	h.mu.Lock()
	pid := h.sshdPID
	h.mu.Unlock()
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: utime, stime, cutime and cstime are
	// fields 14 to 17, counted from pid; comm may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, _ := strconv.ParseInt(s, 10, 64)
		ticks += n
	}
	// USER_HZ is 100 on every Linux the sandbox runs on.
	return time.Duration(ticks) * 10 * time.Millisecond
}
