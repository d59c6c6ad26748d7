package sshconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGUk0oAK3M8Gm1Ia2P6D0YbCfnm0N5q5b3n1cq3Q2Qy0"
	keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHo+2YUVs3eQ6F0aH/9DZ0Qe1T0m8b8l6Z2S3Kx2P3d1"
)

func testFiles(t *testing.T) Files {
	t.Helper()
	return Files{Home: t.TempDir()}
}

func zoomcamp(home string) Entry {
	return Entry{Alias: "mlops-zoomcamp", Address: "aws_instance.mlops_zoomcamp", HostName: "127.0.0.2", Port: 2222,
		User: "ubuntu", IdentityFile: filepath.Join(home, ".ssh", "razer.pem"), HostKey: keyA}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func actions(r Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Entry.Alias+" "+c.Action.String())
	}
	return out
}

func mustSync(t *testing.T, f Files, stack string, want ...Entry) Result {
	t.Helper()
	r, err := f.Sync(stack, want)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return r
}

// TestSyncFreshHome: nothing exists yet; everything is created with
// private modes and the user config is just the Include line.
func TestSyncFreshHome(t *testing.T) {
	f := testFiles(t)
	e := zoomcamp(f.Home)
	r := mustSync(t, f, "lineage-1", e)
	if d := cmp.Diff([]string{"mlops-zoomcamp added"}, actions(r)); d != "" || !r.IncludeAdded {
		t.Errorf("actions (-want +got):\n%s\nIncludeAdded=%v", d, r.IncludeAdded)
	}
	for path, want := range map[string]os.FileMode{f.Dir(): 0o700, f.Config(): 0o600, f.KnownHosts(): 0o600, f.UserConfig(): 0o600} {
		if got := mode(t, path); got != want {
			t.Errorf("%s mode %o, want %o", path, got, want)
		}
	}
	if got := read(t, f.UserConfig()); got != IncludeLine+"\n" {
		t.Errorf("~/.ssh/config = %q", got)
	}
	wantBlock := `# mlops: stack=lineage-1 address=aws_instance.mlops_zoomcamp
Host mlops-zoomcamp
  HostName 127.0.0.2
  Port 2222
  User ubuntu
  IdentityFile "` + f.Home + `/.ssh/razer.pem"
  IdentitiesOnly yes
  UserKnownHostsFile "` + f.Home + `/.ssh/mlops_known_hosts"
  HostKeyAlias mlops-zoomcamp
  StrictHostKeyChecking yes
  CheckHostIP no
`
	if got := read(t, f.Config()); got != header+"\n"+wantBlock {
		t.Errorf("mlops_config:\n%s\nwant:\n%s", got, header+"\n"+wantBlock)
	}
	if got := read(t, f.KnownHosts()); got != "mlops-zoomcamp "+keyA+"\n" {
		t.Errorf("mlops_known_hosts = %q", got)
	}
	entries, stacks, err := f.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Entry{e}, entries); d != "" || len(stacks) != 1 || stacks[0] != "lineage-1" {
		t.Errorf("Entries (-want +got):\n%s\nstacks %v", d, stacks)
	}
}

// TestSyncIdempotentAndUserFileUntouched: the user's config keeps every
// byte after the one Include line, which is added once; a second Sync
// writes nothing at all.
func TestSyncIdempotentAndUserFileUntouched(t *testing.T) {
	f := testFiles(t)
	os.MkdirAll(f.Dir(), 0o755)
	user := "# my config\r\nHost *\n    ServerAliveInterval 30\n\tForwardAgent no\nHost work\n  HostName work.example # trailing\nMatch host x\n  User y" // no final newline
	if err := os.WriteFile(f.UserConfig(), []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	e := zoomcamp(f.Home)
	mustSync(t, f, "s1", e)
	want := IncludeLine + "\n" + user
	if got := read(t, f.UserConfig()); got != want {
		t.Errorf("~/.ssh/config:\n%q\nwant\n%q", got, want)
	}
	if got := mode(t, f.UserConfig()); got != 0o644 {
		t.Errorf("~/.ssh/config mode %o, want the user's 644 kept", got)
	}
	if got := mode(t, f.Dir()); got != 0o755 {
		t.Errorf("~/.ssh mode %o, want the user's 755 kept", got)
	}

	stat := func() map[string]string {
		out := map[string]string{}
		for _, p := range []string{f.UserConfig(), f.Config(), f.KnownHosts()} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = read(t, p) + st.ModTime().String()
		}
		return out
	}
	before := stat()
	for i := 0; i < 3; i++ {
		r := mustSync(t, f, "s1", e)
		if d := cmp.Diff([]string{"mlops-zoomcamp unchanged"}, actions(r)); d != "" || r.IncludeAdded {
			t.Errorf("sync %d (-want +got):\n%s", i, d)
		}
	}
	if d := cmp.Diff(before, stat()); d != "" {
		t.Errorf("an unchanged Sync rewrote files:\n%s", d)
	}

	// A change of address rewrites the entry but never adds the Include again.
	e.HostName = "54.214.1.2"
	r := mustSync(t, f, "s1", e)
	if d := cmp.Diff([]string{"mlops-zoomcamp updated"}, actions(r)); d != "" || r.IncludeAdded {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := read(t, f.UserConfig()); got != want {
		t.Errorf("~/.ssh/config changed on update:\n%q", got)
	}
}

// TestExistingInclude: an Include of mlops_config the user wrote (any
// spelling, anywhere) counts; nothing is added.
func TestExistingInclude(t *testing.T) {
	for _, user := range []string{
		"Host a\n  User b\n\nInclude ~/.ssh/mlops_config\n",
		"include mlops_config\n",
		"Include=\"~/.ssh/mlops_config\"\n",
		"Include other.conf ~/.ssh/mlops_config\n",
	} {
		f := testFiles(t)
		os.MkdirAll(f.Dir(), 0o700)
		os.WriteFile(f.UserConfig(), []byte(user), 0o600)
		if r := mustSync(t, f, "s", zoomcamp(f.Home)); r.IncludeAdded {
			t.Errorf("%q: Include added again", user)
		}
		if got := read(t, f.UserConfig()); got != user {
			t.Errorf("%q: changed to %q", user, got)
		}
	}
	// The absolute path counts too.
	f := testFiles(t)
	os.MkdirAll(f.Dir(), 0o700)
	user := "Include " + f.Config() + "\n"
	os.WriteFile(f.UserConfig(), []byte(user), 0o600)
	if r := mustSync(t, f, "s", zoomcamp(f.Home)); r.IncludeAdded || read(t, f.UserConfig()) != user {
		t.Errorf("absolute Include not recognised")
	}
}

// TestSymlinkedUserConfig: a dotfile manager's symlink stays a symlink.
func TestSymlinkedUserConfig(t *testing.T) {
	f := testFiles(t)
	os.MkdirAll(f.Dir(), 0o700)
	target := filepath.Join(t.TempDir(), "dotfiles-ssh-config")
	os.WriteFile(target, []byte("Host x\n"), 0o600)
	if err := os.Symlink(target, f.UserConfig()); err != nil {
		t.Fatal(err)
	}
	mustSync(t, f, "s", zoomcamp(f.Home))
	if fi, err := os.Lstat(f.UserConfig()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("~/.ssh/config is no longer a symlink")
	}
	if got := read(t, target); got != IncludeLine+"\nHost x\n" {
		t.Errorf("target = %q", got)
	}
}

// TestUpdateAndRemove: the entry follows address, port, user, key file and
// host key; removal takes the entry and its known_hosts line and nothing
// else.
func TestUpdateAndRemove(t *testing.T) {
	f := testFiles(t)
	os.MkdirAll(f.Dir(), 0o700)
	// A line of someone else in the known_hosts file, and another stack's alias.
	os.WriteFile(f.KnownHosts(), []byte("other-host "+keyB+"\n"), 0o600)
	other := Entry{Alias: "lab", Address: "host.lab", HostName: "10.0.0.9", User: "me"}
	mustSync(t, f, "stack-B", other)

	e := zoomcamp(f.Home)
	mustSync(t, f, "stack-A", e)

	steps := []struct {
		name string
		edit func(*Entry)
		want []string // lines that must be in the block
	}{
		{"new address", func(e *Entry) { e.HostName = "54.214.9.9" }, []string{"  HostName 54.214.9.9"}},
		{"new port", func(e *Entry) { e.Port = 0 }, []string{"  Port 22"}},
		{"new user", func(e *Entry) { e.User = "root" }, []string{"  User root"}},
		{"key path with space and %", func(e *Entry) { e.IdentityFile = "/keys/my key%h.pem" }, []string{`  IdentityFile "/keys/my key%%h.pem"`}},
		{"new host key", func(e *Entry) { e.HostKey = keyB + " comment" }, []string{"  StrictHostKeyChecking yes"}},
		{"no host key pinned", func(e *Entry) { e.HostKey = "" }, []string{"  StrictHostKeyChecking accept-new"}},
	}
	for _, st := range steps {
		st.edit(&e)
		r := mustSync(t, f, "stack-A", e)
		if d := cmp.Diff([]string{"mlops-zoomcamp updated"}, actions(r)); d != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, d)
		}
		cfg := read(t, f.Config())
		for _, l := range st.want {
			if !strings.Contains(cfg, l+"\n") {
				t.Errorf("%s: mlops_config lacks %q:\n%s", st.name, l, cfg)
			}
		}
		entries, _, _ := f.Entries()
		var got Entry
		for _, x := range entries {
			if x.Alias == e.Alias {
				got = x
			}
		}
		wantEntry := e
		wantEntry.HostKey, _ = normalizeKey(e.HostKey)
		if e.HostKey == "" {
			wantEntry.HostKey = ""
		}
		if e.Port == 0 {
			wantEntry.Port = 22
		}
		if d := cmp.Diff(wantEntry, got); d != "" {
			t.Errorf("%s: entry read back (-want +got):\n%s", st.name, d)
		}
	}
	e.HostKey = keyA
	mustSync(t, f, "stack-A", e)
	if got := read(t, f.KnownHosts()); got != "other-host "+keyB+"\nmlops-zoomcamp "+keyA+"\n" {
		t.Errorf("known_hosts = %q", got)
	}

	// Destroy: the stack has no entries any more.
	r := mustSync(t, f, "stack-A")
	if d := cmp.Diff([]string{"mlops-zoomcamp removed"}, actions(r)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := read(t, f.KnownHosts()); got != "other-host "+keyB+"\n" {
		t.Errorf("known_hosts after removal = %q", got)
	}
	entries, stacks, _ := f.Entries()
	if len(entries) != 1 || entries[0].Alias != "lab" || stacks[0] != "stack-B" {
		t.Errorf("entries after removal: %v %v", entries, stacks)
	}
	// Removing again is a no-op.
	if r := mustSync(t, f, "stack-A"); len(r.Changes) != 0 {
		t.Errorf("second removal: %v", actions(r))
	}
}

// TestRenameAlias: a renamed alias is a removal and an addition.
func TestRenameAlias(t *testing.T) {
	f := testFiles(t)
	e := zoomcamp(f.Home)
	mustSync(t, f, "s", e)
	e.Alias = "zc"
	r := mustSync(t, f, "s", e)
	if d := cmp.Diff([]string{"mlops-zoomcamp removed", "zc added"}, actions(r)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := read(t, f.KnownHosts()); got != "zc "+keyA+"\n" {
		t.Errorf("known_hosts = %q", got)
	}
}

// TestConflictAndKept: another stack's alias is not taken over; an entry
// without address (stopped machine) stays as it was.
func TestConflictAndKept(t *testing.T) {
	f := testFiles(t)
	e := zoomcamp(f.Home)
	mustSync(t, f, "first", e)
	before := read(t, f.Config())

	stolen := e
	stolen.HostName = "10.9.9.9"
	r := mustSync(t, f, "second", stolen)
	if len(r.Changes) != 1 || r.Changes[0].Action != Conflict || r.Changes[0].Owner != "first" {
		t.Errorf("changes = %+v", r.Changes)
	}
	if read(t, f.Config()) != before {
		t.Errorf("a conflicting Sync changed mlops_config")
	}
	// The other stack's destroy does not remove it either.
	mustSync(t, f, "second")
	if read(t, f.Config()) != before {
		t.Errorf("another stack's removal changed mlops_config")
	}

	stopped := Entry{Alias: e.Alias, Address: e.Address}
	r = mustSync(t, f, "first", stopped)
	if d := cmp.Diff([]string{"mlops-zoomcamp kept"}, actions(r)); d != "" || read(t, f.Config()) != before {
		t.Errorf("(-want +got):\n%s", d)
	}
	if r.Changes[0].Entry.HostName != "127.0.0.2" {
		t.Errorf("kept entry = %+v", r.Changes[0].Entry)
	}
	// A stopped machine without an entry gets none.
	g := testFiles(t)
	if r := mustSync(t, g, "s", stopped); len(r.Changes) != 0 {
		t.Errorf("changes = %v", actions(r))
	}
	if _, err := os.Stat(g.Dir()); err == nil {
		t.Errorf("~/.ssh created for nothing")
	}
}

// TestHostileEntries: nothing that could add options or tokens to the
// file is written; the files stay as they were.
func TestHostileEntries(t *testing.T) {
	for _, alias := range []string{"", "a b", "a\nProxyCommand x", "*", "a?", "!a", "%h", "-oProxyCommand=x", `a"b`, "é", strings.Repeat("a", 65)} {
		if ValidAlias(alias) {
			t.Errorf("ValidAlias(%q) = true", alias)
		}
	}
	f := testFiles(t)
	good := zoomcamp(f.Home)
	mustSync(t, f, "s", good)
	before := read(t, f.Config())
	bad := []func(*Entry){
		func(e *Entry) { e.Alias = "x y" },
		func(e *Entry) { e.Alias = "a\n  ProxyCommand touch /tmp/p" },
		func(e *Entry) { e.HostName = "1.2.3.4\n  ProxyCommand touch /tmp/p" },
		func(e *Entry) { e.HostName = "%h.example" },
		func(e *Entry) { e.HostName = "-oProxyCommand=x" },
		func(e *Entry) { e.User = "root\n  ProxyCommand x" },
		func(e *Entry) { e.IdentityFile = "relative.pem" },
		func(e *Entry) { e.IdentityFile = "/a\"b" },
		func(e *Entry) { e.HostKey = "not a key" },
		func(e *Entry) { e.Port = 70000 },
	}
	for i, edit := range bad {
		e := good
		edit(&e)
		if _, err := f.Sync("s", []Entry{e}); err == nil {
			t.Errorf("case %d: %+v accepted", i, e)
		}
	}
	if _, err := f.Sync("s", []Entry{good, good}); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("duplicate alias: %v", err)
	}
	if read(t, f.Config()) != before {
		t.Errorf("a refused Sync changed mlops_config")
	}
}

// TestOpenSSHReadsTheFile: OpenSSH's own parser (ssh -G) sees the entry as
// meant, including a key path with a space and a %.
func TestOpenSSHReadsTheFile(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh client")
	}
	f := testFiles(t)
	e := zoomcamp(f.Home)
	e.IdentityFile = filepath.Join(f.Home, "my keys", "razer%.pem")
	mustSync(t, f, "s", e)
	out, err := exec.Command(sshBin, "-G", "-F", f.Config(), "mlops-zoomcamp").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -G: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		got[k] = v
	}
	// ssh -G shows IdentityFile before token expansion, where %% is one %.
	want := map[string]string{
		"hostname": "127.0.0.2", "port": "2222", "user": "ubuntu", "identityfile": strings.ReplaceAll(e.IdentityFile, "%", "%%"),
		"identitiesonly": "yes", "userknownhostsfile": f.KnownHosts(), "stricthostkeychecking": "true",
		"hostkeyalias": "mlops-zoomcamp", "checkhostip": "no",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ssh -G %s = %q, want %q", k, got[k], v)
		}
	}
}
