package layers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// The tests in this file check, on sandbox hosts over real SSH, what a real
// Ubuntu machine does differently from a bare chroot and what the layers do
// about it: apt's locks held by other apt runs, the early return of Debian's
// and Ubuntu's ~/.bashrc for non-interactive shells.

// openHost opens a transport session to h as its user.
func openHost(t *testing.T, h *testworld.Host) (*host.Hosts, providers.HostSession) {
	t.Helper()
	hs := host.New(host.Options{
		LoopbackOnly: true,
		Dial:         loopbackDial(t),
		NewSession:   layers.NewSession,
		LayerSchemas: layers.Schemas,
		Log:          t.Logf,
	})
	s, diags := hs.Open(context.Background(), providers.SSHTarget{
		Host: h.Addr, Port: h.Port, User: h.User, PrivateKeyFile: h.KeyFile, Timeout: 30 * time.Second,
	}, h.HostKey)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	t.Cleanup(func() { s.Close() })
	return hs, s
}

// mkLayer builds a layer against the transport's schemas the way the config
// loader does (defaults for unset attributes).
func mkLayer(t *testing.T, hs *host.Hosts, name, kind string, set map[string]cty.Value) providers.Layer {
	t.Helper()
	ls, ok := hs.LayerSchemas()[kind]
	if !ok {
		t.Fatalf("no schema for layer kind %q", kind)
	}
	vals := map[string]cty.Value{}
	for n, a := range ls.Attributes {
		switch v, ok := set[n]; {
		case ok:
			vals[n] = v
		case a.Default != cty.NilVal:
			vals[n] = a.Default
		default:
			vals[n] = cty.NullVal(a.Type)
		}
	}
	cfg := cty.ObjectVal(vals)
	web := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "web"}
	return providers.Layer{Addr: addrs.Layer{Resource: web, Name: name}, Kind: kind, Config: cfg, Digest: providers.LayerDigest(kind, cfg)}
}

func probeReasons(t *testing.T, s providers.HostSession, ls []providers.Layer) map[string][]string {
	t.Helper()
	resp := s.Probe(context.Background(), providers.ProbeRequest{Layers: ls})
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics)
	}
	out := map[string][]string{}
	for _, st := range resp.Statuses {
		if !st.Satisfied {
			out[st.Addr.Name] = st.Reasons
		}
	}
	return out
}

func converge(t *testing.T, s providers.HostSession, ls []providers.Layer) *lines {
	t.Helper()
	out := &lines{m: map[string][]string{}}
	resp := s.Converge(context.Background(), providers.ConvergeRequest{Layers: ls, Output: out.add})
	if resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Converge failed at %v: %v\noutput: %v", resp.Failed, resp.Diagnostics, out.m)
	}
	return out
}

// TestAptWaitsForListsLock: while another process holds apt's lists lock, as
// Ubuntu's apt-daily does at first boot, an apt layer with update = true
// waits for it and then succeeds; apt-get update alone would fail at once
// with "Could not get lock /var/lib/apt/lists/lock" (DPkg::Lock::Timeout
// covers dpkg's locks only).
func TestAptWaitsForListsLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs apt-get on a sandbox host")
	}
	h := testworld.StartHost(t)
	hs, s := openHost(t, h)
	ls := []providers.Layer{mkLayer(t, hs, "tools", "apt", map[string]cty.Value{
		"update": cty.True, "packages": cty.ListVal([]cty.Value{cty.StringVal("tree")}),
	})}

	// A POSIX lock, as apt takes it, held for hold.
	const hold = 6 * time.Second
	h.Exec(t, `setsid python3 -c 'import fcntl, time
f = open("/var/lib/apt/lists/lock", "w")
fcntl.lockf(f, fcntl.LOCK_EX)
open("/tmp/locked", "w").close()
time.sleep(`+strings.TrimSuffix(hold.String(), "s")+`)' >/dev/null 2>&1 </dev/null &`)
	locked := time.Now()
	for !fileExists(filepath.Join(h.Root, "tmp/locked")) {
		if time.Since(locked) > 10*time.Second {
			t.Fatal("the lock holder did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	locked = time.Now()
	out := converge(t, s, ls)
	text := strings.Join(out.m["tools"], "\n")
	if waited := time.Since(locked); waited < hold-time.Second {
		t.Errorf("converge finished %v after the lock was taken, before the %v hold ended:\n%s", waited, hold, text)
	}
	for _, want := range []string{"waiting for /var/lib/apt/lists/lock, locked by process ", "(python3)", "apt is free after "} {
		if !strings.Contains(text, want) {
			t.Errorf("apt layer output lacks %q:\n%s", want, text)
		}
	}
	if got := h.Exec(t, "dpkg-query -W -f='${Status}' tree"); got != "install ok installed" {
		t.Errorf("tree: %q", got)
	}
}

// TestComposePathNonInteractive: the host's ~/.bashrc is Debian's (as
// Ubuntu's, it returns early for non-interactive shells). The PATH line the
// docker_compose layer writes reaches a command sent over SSH
// (`ssh host docker-compose version`) and a later shell layer, and a PATH
// line an older mlops appended at the end is moved to the top.
func TestComposePathNonInteractive(t *testing.T) {
	h := testworld.StartHost(t)
	d := testworld.StartDownloads(t)
	if got := h.Exec(t, `grep -c '^case \$- in' /home/ubuntu/.bashrc`); got != "1\n" {
		t.Fatalf("the sandbox user's ~/.bashrc lacks the early return for non-interactive shells: %q", got)
	}
	hs, s := openHost(t, h)
	str := cty.StringVal
	ls := []providers.Layer{
		mkLayer(t, hs, "compose", "docker_compose", map[string]cty.Value{
			"version": str("v2.5.0"), "url": str(d.URL(testworld.DownloadCompose)), "sha256": str(d.SHA256(testworld.DownloadCompose)),
		}),
		mkLayer(t, hs, "uses_compose", "shell", map[string]cty.Value{
			"check": str(`docker-compose version >/dev/null && test -f ~/compose-seen`),
			"run":   str(`docker-compose version >~/compose-seen`),
		}),
	}
	converge(t, s, ls)
	if got := h.Exec(t, "cat /home/ubuntu/compose-seen"); got != "Docker Compose version v2.5.0\n" {
		t.Errorf("the shell layer after docker_compose saw %q", got)
	}
	if r := probeReasons(t, s, ls); len(r) != 0 {
		t.Errorf("after converge, not satisfied: %v", r)
	}
	c := sshClient(t, h)
	if got, err := sshRun(c, "docker-compose version"); err != nil || got != "Docker Compose version v2.5.0\n" {
		t.Errorf("ssh host docker-compose version = %q, %v", got, err)
	}

	// Where mlops used to write it: at the end, after the early return.
	h.Exec(t, `cd /home/ubuntu && l=$(grep 'mlops: docker_compose PATH' .bashrc) && sed -i '/mlops: docker_compose PATH/d' .bashrc && printf '%s\n' "$l" >>.bashrc`)
	if got, err := sshRun(c, "docker-compose version"); err == nil {
		t.Fatalf("with the PATH line after the early return, ssh host docker-compose version worked: %q", got)
	}
	// The shell layer's check, run by the probe over SSH, does not find
	// docker-compose either.
	want := map[string][]string{
		"compose":      {"PATH line in ~/.bashrc is not at its top, where non-interactive shells see it"},
		"uses_compose": {"check failed (exit 127)"},
	}
	if r := probeReasons(t, s, ls); !equalReasons(r, want) {
		t.Errorf("probe of an old PATH line = %v, want %v", r, want)
	}
	converge(t, s, ls)
	if got, err := sshRun(c, "docker-compose version"); err != nil || got != "Docker Compose version v2.5.0\n" {
		t.Errorf("after the repair, ssh host docker-compose version = %q, %v", got, err)
	}
	if got := h.Exec(t, `grep -c 'mlops: docker_compose PATH' /home/ubuntu/.bashrc; head -n 1 /home/ubuntu/.bashrc`); got != "1\nexport PATH=\"$HOME/soft:$PATH\" # mlops: docker_compose PATH\n" {
		t.Errorf("~/.bashrc: %q", got)
	}
}

func equalReasons(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sshClient logs in to h as its user, as `ssh host` does.
func sshClient(t *testing.T, h *testworld.Host) *ssh.Client {
	t.Helper()
	pem, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := loopbackDial(t)(context.Background(), "tcp", h.HostPort())
	if err != nil {
		t.Fatal(err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, h.HostPort(), &ssh.ClientConfig{
		User: h.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(hostKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { c.Close() })
	return c
}

// sshRun runs cmd as `ssh host cmd` does: an exec request, no terminal, so
// the user's login shell runs it non-interactively. It returns stdout.
func sshRun(c *ssh.Client, cmd string) (string, error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.Output(cmd)
	return string(out), err
}
