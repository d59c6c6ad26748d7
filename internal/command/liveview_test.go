package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerboseFlag(t *testing.T) {
	for _, cmd := range []string{"apply", "destroy"} {
		d, _, errb := testDeps(t, t.TempDir())
		o, ok := parseOpFlags(d, cmd, applyUsage, []string{"-verbose", "-auto-approve"})
		if !ok || !o.verbose || !o.autoApprove {
			t.Errorf("%s -verbose: ok=%v %+v %s", cmd, ok, o, errb)
		}
	}
	d, _, errb := testDeps(t, t.TempDir())
	if _, ok := parseOpFlags(d, "plan", planUsage, []string{"-verbose"}); ok || !strings.Contains(errb.String(), "not defined") {
		t.Errorf("plan -verbose accepted: %s", errb)
	}
}

// TestLiveViewChoice: the live view only for apply and destroy with stdout
// on a terminal, never with -verbose, -json or TERM=dumb.
func TestLiveViewChoice(t *testing.T) {
	tests := []struct {
		name string
		op   string
		tty  bool
		o    opFlags
		env  string
		live bool
	}{
		{name: "apply on a terminal", op: "apply", tty: true, live: true},
		{name: "destroy on a terminal", op: "destroy", tty: true, live: true},
		{name: "plan on a terminal", op: "plan", tty: true},
		{name: "apply into a pipe", op: "apply"},
		{name: "apply -verbose", op: "apply", tty: true, o: opFlags{verbose: true}},
		{name: "apply -json", op: "apply", tty: true, o: opFlags{json: true}},
		{name: "dumb terminal", op: "apply", tty: true, env: "TERM=dumb"},
		{name: "colourless terminal", op: "apply", tty: true, env: "NO_COLOR=1", live: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d, _, _ := testDeps(t, dir)
			d.Streams.OutTTY = tt.tty
			if tt.env != "" {
				d.Env = append(d.Env, tt.env)
			}
			l := &loaded{dir: dir, world: &world{note: func(string) {}}}
			v := liveView(d, l, tt.op, &tt.o)
			if (v != nil) != tt.live {
				t.Fatalf("live view: %v, want %v", v != nil, tt.live)
			}
			if v != nil {
				v.Close()
			}
		})
	}
}

// TestRunLog: the log is created 0600 in a 0700 .mlops/logs beside the
// configuration, named by the UTC start time and the operation, shown
// relative to the working directory; a second run in the same second gets
// a file of its own.
func TestRunLog(t *testing.T) {
	cwd := t.TempDir()
	dir := filepath.Join(cwd, "stack")
	d, _, _ := testDeps(t, cwd)
	f, name, err := openRunLog(d, dir, "apply")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("line\n"))
	f.Close()
	if want := filepath.Join("stack", ".mlops", "logs", "20261126T120000Z-apply.log"); name != want {
		t.Errorf("name %q, want %q", name, want)
	}
	st, err := os.Stat(filepath.Join(cwd, name))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("log: %v, mode %v", err, st.Mode())
	}
	if st, _ := os.Stat(filepath.Join(dir, ".mlops", "logs")); st.Mode().Perm() != 0o700 {
		t.Errorf("logs directory mode %v", st.Mode())
	}
	_, second, err := openRunLog(d, dir, "apply")
	if err != nil || second == name || !strings.HasSuffix(second, "20261126T120000Z-2-apply.log") {
		t.Errorf("second log in the same second: %q, %v", second, err)
	}
	if b, _ := os.ReadFile(filepath.Join(cwd, name)); string(b) != "line\n" {
		t.Errorf("the second run overwrote the first log: %q", b)
	}
	_, other, _ := openRunLog(d, dir, "destroy")
	if !strings.HasSuffix(other, "20261126T120000Z-destroy.log") {
		t.Errorf("destroy log %q", other)
	}
}

// TestLiveViewTakesSSHNotes: with the live view, the SSH transport's
// messages go through it (above the live lines, into the log), not to
// stderr, where they would land inside the live region.
func TestLiveViewTakesSSHNotes(t *testing.T) {
	dir := t.TempDir()
	d, out, errb := testDeps(t, dir)
	d.Streams.OutTTY = true
	w := newWorld(d, dir)
	l := &loaded{dir: dir, world: w}
	w.note("ssh: before")
	v := liveView(d, l, "apply", &opFlags{})
	w.note("ssh: waiting for SSH on 127.0.0.2:22")
	fmt.Fprintln(d.Streams.Err, "Interrupt received")
	v.Close()
	if errb.String() != "ssh: before\nInterrupt received\n" {
		t.Errorf("stderr: %q", errb)
	}
	if !strings.Contains(out.String(), "ssh: waiting for SSH on 127.0.0.2:22") {
		t.Errorf("stdout: %q", out)
	}
}
