package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file look at apply the way a person does: the built
// binary runs in a real terminal (a tmux pane), and what the pane shows
// once it finished is compared with a golden file.

// tmuxPane is one detached tmux session on a server of its own, running
// mlops in a stack's directory.
type tmuxPane struct {
	t    *testing.T
	sock string
}

// startTmux runs mlops with args in s.dir in a new tmux pane of cols x rows
// (a terminal: the live view), with exactly the stack's environment plus
// the pane's TERM. A marker line with the exit status follows mlops' output.
func startTmux(t *testing.T, s *stack, cols, rows int, args ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("MLOPS_REQUIRE_SANDBOX") == "1" {
			t.Fatal("tmux not found (scripts/setup installs it)")
		}
		t.Skip("tmux not found")
	}
	var cmd strings.Builder
	fmt.Fprintf(&cmd, "cd %s || exit 99\nenv -i TERM=\"$TERM\"", shellQuote(s.dir))
	for _, kv := range s.env {
		cmd.WriteString(" " + shellQuote(kv))
	}
	cmd.WriteString(" " + shellQuote(binary))
	for _, a := range args {
		cmd.WriteString(" " + shellQuote(a))
	}
	cmd.WriteString("\necho \"[mlops exited $?]\"\nexec sleep 600\n")
	script := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(script, []byte(cmd.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, sock: fmt.Sprintf("mlops-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command("tmux", "-L", p.sock, "kill-server").Run() })
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "mlops", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), "sh "+shellQuote(script))
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now, its scrollback included, wrapped lines
// joined; with escapes, the colours and attributes too.
func (p *tmuxPane) screen(escapes bool) string {
	args := []string{"capture-pane", "-p", "-J", "-S", "-", "-t", "mlops"}
	if escapes {
		args = append(args, "-e")
	}
	lines := strings.Split(p.tmux(args...), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

var exitMarker = regexp.MustCompile(`\[mlops exited (\d+)\]`)

// waitFor polls the pane until re matches a line of it.
func (p *tmuxPane) waitFor(re *regexp.Regexp, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		scr := p.screen(false)
		if m := re.FindString(scr); m != "" {
			return m, true
		}
		if time.Now().After(deadline) || exitMarker.MatchString(scr) && re != exitMarker {
			return scr, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wait returns the pane once mlops exited, and its exit status.
func (p *tmuxPane) wait() (string, string) {
	p.t.Helper()
	if scr, ok := p.waitFor(exitMarker, 5*time.Minute); !ok {
		p.t.Fatalf("mlops did not finish in the pane:\n%s", scr)
	}
	scr := p.screen(false)
	return scr, exitMarker.FindStringSubmatch(scr)[1]
}

// normalize replaces what differs between runs: object ids, addresses,
// times, key fingerprints.
func normalize(s string) string {
	for _, r := range []struct{ re, with string }{
		{`\b(i|sg|key)-[0-9a-f]{8,}\b`, "$1-ID"},
		{`127\.0\.0\.\d+:\d+`, "127.0.0.X:PORT"},
		{`\b54\.\d+\.\d+\.\d+\b`, "PUBLIC_IP"},
		{`after (\d+h)?(\d+m)?\d+s\b`, "after Ns"},
		{`\[(\d+h)?(\d+m)?\d+s elapsed\]`, "[Ns elapsed]"},
		{`\d{8}T\d{6}Z(-\d+)?`, "TIMESTAMP"},
		{`SHA256:[A-Za-z0-9+/=]+`, "SHA256:FINGERPRINT"},
		{`ssh-ed25519 AAAA[A-Za-z0-9+/=]+`, "ssh-ed25519 PUBLIC_KEY"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

// hookLine is a line of the streaming view: an address, a colon, an event.
var hookLine = regexp.MustCompile(`^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+(?:\.layer\.[A-Za-z0-9_-]+)?): `)

// timingLine is a line whose presence depends on how long something took.
var timingLine = regexp.MustCompile(`: Still [a-z]+\.\.\. \[|: \| downloading: \d+ MiB so far$`)

// byAddress groups the streaming view's lines of out by address, in order,
// without the lines that depend on timing, normalised.
func byAddress(out string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(normalize(out), "\n") {
		if sub := hookLine.FindStringSubmatch(line); sub != nil && !timingLine.MatchString(line) {
			m[sub[1]] = append(m[sub[1]], line)
		}
	}
	return m
}

// terminalLayers print a lot (steps), pause in the middle of it so that a
// live line can be seen, download a file (docker_compose) and write one.
func terminalLayers(d *testworld.Downloads) string {
	return fmt.Sprintf(`
  layer "shell" {
    name  = "steps"
    check = "test -f ~/steps-done"
    run   = "for i in $(seq 1 120); do echo step $i; done; echo halfway there; sleep 3; touch ~/steps-done"
  }
  layer "docker_compose" {
    version = "v2.5.0"
    url     = %q
    sha256  = %q
  }
  layer "file" {
    name        = "env"
    destination = "~/.config/mlops/env"
    content     = "MLFLOW_TRACKING_URI=http://localhost:5000\n"
  }
`, d.URL(testworld.DownloadCompose), d.SHA256(testworld.DownloadCompose))
}

// TestTerminalViewInTmux: on a terminal, apply shows one live line per
// operation and layer while it runs and one line per finished one after,
// the full output goes to .mlops/logs/<time>-apply.log (0600 in a 0700
// directory), named at the end, and that log holds every line the
// streaming view prints for the same apply on another host. A failing
// layer shows its last 30 lines and the log's name. NO_COLOR: no colour.
func TestTerminalViewInTmux(t *testing.T) {
	hosts := testworld.StartHosts(t, 2)
	d := testworld.StartDownloads(t)
	config := machineConfig("", terminalLayers(d), "")

	// The streaming view, as in CI: stdout is a pipe.
	streaming := layerStack(t, hosts[0].KeyFile, hosts[0].Addr, hosts[0].Port, config)
	old := timed(t, "apply (pipe)", streaming.must(0, "apply", "-auto-approve"))
	if strings.Count(old.stdout, "aws_instance.dev.layer.steps: | step ") != 120 {
		t.Fatalf("the streaming view does not show every line:\n%s", old)
	}
	if _, err := os.Stat(filepath.Join(streaming.dir, ".mlops", "logs")); !os.IsNotExist(err) {
		t.Errorf("the streaming view wrote a log: %v", err)
	}

	// The same apply on a terminal (newStack resets moto: the names are free again).
	s := layerStack(t, hosts[1].KeyFile, hosts[1].Addr, hosts[1].Port, config)
	p := startTmux(t, s, 100, 50, "apply", "-auto-approve")
	live := regexp.MustCompile(`(?m)^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] aws_instance\.dev\.layer\.steps: Applying\.\.\. \d+s  halfway there$`)
	if scr, ok := p.waitFor(live, 2*time.Minute); !ok {
		t.Errorf("no live line for the steps layer while it ran:\n%s", scr)
	}
	scr, code := p.wait()
	if code != "0" {
		t.Fatalf("apply in tmux exited %s:\n%s", code, scr)
	}
	if c := p.screen(true); strings.Contains(c, "\x1b[") {
		t.Errorf("colours with NO_COLOR set:\n%q", c)
	}
	golden(t, filepath.Join("testdata", "terminal", "apply.txt"), normalize(scr))
	t.Logf("lines on the terminal: %d streaming (stdout and stderr), %d live", strings.Count(old.stdout+old.stderr, "\n"), strings.Count(scr, "\n")-1)

	m := regexp.MustCompile(`(?m)^Full log: (\.mlops/logs/\d{8}T\d{6}Z-apply\.log)$`).FindStringSubmatch(scr)
	if m == nil {
		t.Fatalf("no log named at the end:\n%s", scr)
	}
	logPath := filepath.Join(s.dir, m[1])
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(logPath); st.Mode().Perm() != 0o600 {
		t.Errorf("log mode %o, want 600", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(logPath)); st.Mode().Perm() != 0o700 {
		t.Errorf("log directory mode %o, want 700", st.Mode().Perm())
	}
	if diff := cmp.Diff(byAddress(old.stdout), byAddress(string(log))); diff != "" {
		t.Errorf("the log differs from the streaming view's lines (-streaming +log):\n%s", diff)
	}

	// A layer that fails after 40 lines.
	s.writeConfig(machineConfig("", terminalLayers(d)+`
  layer "shell" {
    name  = "broken"
    check = "false"
    run   = "for i in $(seq 1 40); do echo line $i; done; echo giving up; exit 3"
  }
`, ""))
	p = startTmux(t, s, 100, 50, "apply", "-auto-approve")
	scr, code = p.wait()
	if code != "1" {
		t.Fatalf("apply of a failing layer exited %s:\n%s", code, scr)
	}
	golden(t, filepath.Join("testdata", "terminal", "failed.txt"), normalize(scr))
}
