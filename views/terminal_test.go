package views

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +got); if the change is intended, run with -update:\n%s", path, d)
	}
}

// screen is a small terminal emulator for the sequences the live view
// writes: text, \n (with the tty's usual \r), \r, cursor up (CSI n A),
// erase to end of line (CSI K) and of screen (CSI J). Colours (CSI m) are
// counted and dropped. Any other escape sequence fails the test: the view
// must not send what it does not need. The screen grows without scrolling,
// so it holds the whole transcript.
type screen struct {
	t        *testing.T
	rows     [][]rune
	row, col int
	colours  int
	cols     int
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;]*)([A-Za-z])`)

func (s *screen) Write(p []byte) (int, error) {
	in := string(p)
	for len(in) > 0 {
		if m := csi.FindStringSubmatch(in); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "A":
				s.row = max(s.row-max(n, 1), 0)
			case "K":
				s.ensure()
				if s.col < len(s.rows[s.row]) {
					s.rows[s.row] = s.rows[s.row][:s.col]
				}
			case "J":
				s.ensure()
				if s.col < len(s.rows[s.row]) {
					s.rows[s.row] = s.rows[s.row][:s.col]
				}
				s.rows = s.rows[:s.row+1]
			case "m":
				s.colours++
			default:
				s.t.Errorf("unexpected escape sequence %q", m[0])
			}
			in = in[len(m[0]):]
			continue
		}
		c, size := utf8.DecodeRuneInString(in)
		in = in[size:]
		switch c {
		case '\x1b':
			s.t.Errorf("unexpected escape at %q", in[:min(len(in), 10)])
		case '\n':
			s.row++
			s.col = 0
		case '\r':
			s.col = 0
		default:
			s.ensure()
			line := s.rows[s.row]
			for len(line) < s.col {
				line = append(line, ' ')
			}
			if s.col < len(line) {
				line[s.col] = c
			} else {
				line = append(line, c)
			}
			s.rows[s.row] = line
			s.col++
			if s.cols > 0 && s.col >= s.cols {
				s.t.Errorf("line %d reaches the last column (%d): %q", s.row, s.cols, string(line))
			}
		}
	}
	return len(p), nil
}

func (s *screen) ensure() {
	for len(s.rows) <= s.row {
		s.rows = append(s.rows, nil)
	}
}

func (s *screen) String() string {
	var b strings.Builder
	for i, r := range s.rows {
		if i == len(s.rows)-1 && len(r) == 0 && s.row == i {
			break // the cursor's empty line
		}
		b.WriteString(strings.TrimRight(string(r), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// bufLog is an io.WriteCloser log file in memory.
type bufLog struct {
	bytes.Buffer
	closed bool
}

func (b *bufLog) Close() error { b.closed = true; return nil }

// fakeRun drives a view through a scripted apply with a fixed clock.
type fakeRun struct {
	now   time.Time
	start time.Time
}

func (f *fakeRun) at(d time.Duration) { f.now = f.start.Add(d) }

var (
	keyPair  = addrs.Resource{Mode: addrs.Managed, Type: "aws_key_pair", Name: "razer"}
	sg       = addrs.Resource{Mode: addrs.Managed, Type: "aws_security_group", Name: "ssh"}
	dev      = addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	gpu      = addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "gpu"}
	amiData  = addrs.Resource{Mode: addrs.Data, Type: "aws_ami", Name: "ubuntu"}
	devApt   = addrs.Layer{Resource: dev, Name: "apt"}
	devConda = addrs.Layer{Resource: dev, Name: "anaconda"}
	devShell = addrs.Layer{Resource: dev, Name: "smoke"}
	gpuApt   = addrs.Layer{Resource: gpu, Name: "apt"}
)

// script is an apply of two hosts: resources created in parallel, apt
// with its download progress on both, a curl download, a long line, a
// line with colours and carriage returns, and a layer that fails after 40
// lines. snap is called at the moments the golden file shows.
func script(h plan.Hooks, f *fakeRun, snap func(label string)) {
	f.at(0)
	h.Refreshing(amiData, "")
	h.PreApply(keyPair, plan.Create, "")
	h.PreApply(sg, plan.Create, "")
	f.at(300 * time.Millisecond)
	h.PostApply(keyPair, plan.Create, "razer", 300*time.Millisecond, nil)
	f.at(1200 * time.Millisecond)
	h.PostApply(sg, plan.Create, "sg-0123", 1200*time.Millisecond, nil)
	h.PreApply(dev, plan.Create, "")
	h.PreApply(gpu, plan.Create, "")
	f.at(2 * time.Second)
	h.Progress(dev, "waiting for the instance to run")
	f.at(2500 * time.Millisecond)
	snap("two instances being created")
	f.at(10 * time.Second)
	h.StillApplying(dev, plan.Create, 8800*time.Millisecond)
	h.StillApplying(gpu, plan.Create, 8800*time.Millisecond)
	f.at(11 * time.Second)
	h.PostApply(dev, plan.Create, "i-0dev", 9800*time.Millisecond, nil)
	h.Progress(dev, "connecting to ubuntu@127.0.0.2:22")
	h.LayerStart(devApt, plan.Create)
	h.LayerOutput(devApt, "to do: packages missing: git, make")
	h.LayerOutput(devApt, "Reading package lists...")
	h.LayerOutput(devApt, "Need to get 8,512 kB of archives.")
	h.LayerOutput(devApt, "Get:1 http://deb.debian.org/debian bookworm/main amd64 git-man all 1:2.39.5-0+deb12u2 [2,053 kB]")
	f.at(12100 * time.Millisecond)
	snap("first host's apt downloading, second host still being created")
	h.PostApply(gpu, plan.Create, "i-0gpu", 10900*time.Millisecond, nil)
	h.LayerStart(gpuApt, plan.Create)
	h.LayerOutput(gpuApt, "\x1b[1mReading\x1b[0m package lists... 50%\rReading package lists... Done\r")
	h.LayerOutput(devApt, "Get:2 http://deb.debian.org/debian bookworm/main amd64 git amd64 1:2.39.5-0+deb12u2 [6,459 kB]")
	h.LayerOutput(devApt, "Fetched 8,512 kB in 1s (6,011 kB/s)")
	h.LayerOutput(devApt, "Setting up git (1:2.39.5-0+deb12u2) and a very long line that goes on and on beyond the width of any reasonable terminal window")
	f.at(13 * time.Second)
	snap("both hosts converging")
	f.at(20 * time.Second)
	h.LayerStill(devApt, plan.Create, 9*time.Second)
	h.LayerDone(devApt, plan.Create, 9*time.Second, nil)
	h.LayerStart(devConda, plan.Create)
	h.LayerOutput(devConda, "to do: ~/anaconda3 missing")
	h.LayerOutput(devConda, "downloading http://127.0.0.1:8080/Anaconda3-2022.05-Linux-x86_64.sh")
	f.at(25 * time.Second)
	h.LayerOutput(devConda, "downloading: 212 MiB so far")
	f.at(25600 * time.Millisecond)
	snap("a curl download")
	h.LayerOutput(devConda, "downloaded 690034411 bytes")
	h.LayerOutput(devConda, "sha256 verified: a7c0afe8")
	h.LayerDone(devConda, plan.Create, 7*time.Second, nil)
	h.LayerStart(devShell, plan.Create)
	for i := 1; i <= 40; i++ {
		h.LayerOutput(devShell, fmt.Sprintf("smoke test step %d", i))
	}
	f.at(31 * time.Second)
	h.LayerDone(devShell, plan.Create, 4*time.Second, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Layer failed"}})
	f.at(32 * time.Second)
	h.LayerOutput(gpuApt, "Setting up make (4.3-4.1) ...")
	snap("one layer failed, the other host goes on")
	f.at(40 * time.Second)
	h.LayerDone(gpuApt, plan.Create, 28*time.Second, nil)
}

func newLive(f *fakeRun, out io.Writer, color bool, log *bufLog, cols, rows int) *LiveHooks {
	return NewLiveHooks(LiveOptions{
		Out:   out,
		Color: color,
		Now:   func() time.Time { return f.now },
		Size:  func() (int, int) { return cols, rows },
		OpenLog: func() (io.WriteCloser, string, error) {
			return log, ".mlops/logs/20261130T080000Z-apply.log", nil
		},
	})
}

// TestLiveFrames pins what the terminal shows at fixed moments of a
// scripted apply of two hosts, and at the end: finished operations as
// one line each, the failed layer's last 30 lines and the log's name.
func TestLiveFrames(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	scr := &screen{t: t, cols: 100}
	log := &bufLog{}
	v := newLive(f, scr, false, log, 100, 30)
	var frames strings.Builder
	script(v, f, func(label string) {
		v.Tick()
		fmt.Fprintf(&frames, "=== at %s: %s\n%s", f.now.Sub(f.start), label, scr)
	})
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&frames, "=== at the end\n%s", scr)
	golden(t, filepath.Join("testdata", "live", "frames.txt"), frames.String())
	if scr.colours != 0 {
		t.Errorf("%d colour sequences without colour", scr.colours)
	}
	if !log.closed {
		t.Errorf("log not closed")
	}
}

// TestLiveNarrowAndCrowded: on a narrow, short terminal every live line
// stays narrower than the screen and the region no taller than it.
func TestLiveNarrowAndCrowded(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	scr := &screen{t: t, cols: 40}
	v := newLive(f, scr, false, &bufLog{}, 40, 6)
	f.at(0)
	for i := range 8 {
		h := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: fmt.Sprintf("node%d", i)}
		v.PreApply(h, plan.Create, "")
		v.Progress(h, "waiting for the instance to run; this message is long")
	}
	f.at(3 * time.Second)
	v.Tick()
	golden(t, filepath.Join("testdata", "live", "crowded.txt"), scr.String())
	if n := strings.Count(scr.String(), "\n"); n > 6 {
		t.Errorf("%d lines on a screen of 6 rows", n)
	}
}

// TestLiveColour: colour only when asked for; the raw stream of a short
// run is pinned.
func TestLiveColour(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	var raw bytes.Buffer
	v := newLive(f, &raw, true, &bufLog{}, 80, 24)
	f.at(0)
	v.PreApply(keyPair, plan.Create, "")
	f.at(150 * time.Millisecond)
	v.Tick()
	v.PostApply(keyPair, plan.Create, "razer", 150*time.Millisecond, nil)
	v.LayerStart(devApt, plan.Create)
	v.LayerOutput(devApt, "\x1b[31mred\x1b[0m text")
	v.Tick()
	v.LayerDone(devApt, plan.Create, time.Second, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "x"}})
	v.Close()
	golden(t, filepath.Join("testdata", "live", "colour.raw"), strings.ReplaceAll(raw.String(), "\x1b", `\e`)+"\n")
	if !strings.Contains(raw.String(), "\x1b[32m"+markDone) {
		t.Errorf("no green mark with colour on:\n%q", raw.String())
	}
	if strings.Contains(raw.String(), "\x1b[31mred") {
		t.Errorf("the remote output's escape sequences reached the terminal:\n%q", raw.String())
	}
}

// TestLiveLogHoldsStreamingView: the log holds exactly what the streaming
// view (HumanHooks, as -verbose and pipes show it) prints for the same
// events, every remote line included.
func TestLiveLogHoldsStreamingView(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	var old bytes.Buffer
	script(NewHumanHooks(&old, &Streams{}), f, func(string) {})
	log := &bufLog{}
	v := newLive(f, io.Discard, true, log, 100, 30)
	script(v, f, func(string) {})
	v.Note("ssh: waiting for SSH on 127.0.0.2:22 (attempt 1)")
	v.Close()
	want := old.String() + "ssh: waiting for SSH on 127.0.0.2:22 (attempt 1)\n"
	if d := cmp.Diff(want, log.String()); d != "" {
		t.Errorf("log differs from the streaming view (-streaming +log):\n%s", d)
	}
	if n := strings.Count(log.String(), "\n"); n < 60 {
		t.Errorf("log has %d lines", n)
	}
}

// TestLiveNoWorkNoLog: a run that only refreshes opens no log file and
// draws nothing but its lines.
func TestLiveNoWorkNoLog(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	var raw bytes.Buffer
	opened := 0
	v := NewLiveHooks(LiveOptions{Out: &raw, Now: func() time.Time { return f.now },
		OpenLog: func() (io.WriteCloser, string, error) { opened++; return &bufLog{}, "x.log", nil }})
	v.Refreshing(dev, "i-0dev")
	v.Probing(dev, "ubuntu@127.0.0.2:22")
	v.Tick()
	v.Close()
	if opened != 0 {
		t.Errorf("log opened %d times", opened)
	}
	want := "aws_instance.dev: Refreshing state... [id=i-0dev]\x1b[K\naws_instance.dev: Checking layers on ubuntu@127.0.0.2:22...\x1b[K\n"
	if raw.String() != want {
		t.Errorf("got %q, want %q", raw.String(), want)
	}
}

// TestLiveLogOpenFails: without a log file the apply goes on, and says so.
func TestLiveLogOpenFails(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	scr := &screen{t: t}
	v := NewLiveHooks(LiveOptions{Out: scr, Now: func() time.Time { return f.now },
		OpenLog: func() (io.WriteCloser, string, error) { return nil, "", fmt.Errorf("read-only file system") }})
	v.PreApply(dev, plan.Create, "")
	v.PostApply(dev, plan.Create, "i-1", time.Second, nil)
	v.Close()
	want := "\nWarning: no log file, remote output is not kept: read-only file system\n✓ aws_instance.dev: Creation complete after 1s [id=i-1]\n"
	if scr.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", scr, want)
	}
}

func TestDownloadProgress(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{"Need to get 57.4 MB of archives."}, "↓ 0.0/57.4 MB"},
		{[]string{"Need to get 57.4 MB of archives.", "Get:1 http://x bookworm/main amd64 docker.io amd64 20.10 [38.6 MB]"}, "↓ 38.6/57.4 MB"},
		{[]string{"Need to get 1,024 kB/57.4 MB of archives.", "Get:1 http://x a [1,024 kB]"}, "↓ 1.0/1.0 MB"},
		{[]string{"Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]", "Get:2 http://x Packages [8,788 kB]"}, "↓ 8.9 MB"},
		{[]string{"Need to get 57.4 MB of archives.", "Fetched 57.4 MB in 3s (19.1 MB/s)"}, "↓ 57.4/57.4 MB"},
		{[]string{"downloading http://127.0.0.1/x.sh", "downloading: 212 MiB so far"}, "↓ 222.3 MB"},
		{[]string{"downloading http://127.0.0.1/x.sh", "downloaded 690034411 bytes"}, "↓ 690.0 MB"},
		{[]string{"downloading http://127.0.0.1/x.sh"}, "↓ 0 B"},
		{[]string{"Setting up git"}, ""},
	}
	for _, tt := range tests {
		var p downloadProgress
		for _, l := range tt.lines {
			p.feed(l)
		}
		if got := p.String(); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.lines, got, tt.want)
		}
	}
}

func TestCleanLine(t *testing.T) {
	tests := map[string]string{
		"plain":                            "plain",
		"  \tindented\t":                   "indented",
		"\x1b[1;31mbold red\x1b[0m":        "bold red",
		" 10%\r 50%\r100%":                 "100%",
		"done\r":                           "done",
		"bell\x07 and \x1b]0;title\x07end": "bell and end",
		"bad \xff byte":                    "bad ? byte",
		"ümlaut ✓":                         "ümlaut ✓",
	}
	for in, want := range tests {
		if got := cleanLine(in); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLiveAbove: a message written to stderr while live lines are drawn
// appears above them, whole, and they are drawn again below it.
func TestLiveAbove(t *testing.T) {
	f := &fakeRun{start: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	scr := &screen{t: t, cols: 80}
	v := newLive(f, scr, false, &bufLog{}, 80, 24)
	f.at(0)
	v.PreApply(dev, plan.Create, "")
	v.LayerStart(devApt, plan.Create)
	f.at(2 * time.Second)
	v.Tick()
	stderr := v.Above(scr)
	fmt.Fprintln(stderr, "\nInterrupt received: finishing operations in flight.")
	f.at(3 * time.Second)
	v.Tick()
	want := `
⠋ aws_instance.dev: Creating... 3s
⠋ aws_instance.dev.layer.apt: Applying... 3s
`
	if got := scr.String(); !strings.HasSuffix(got, want) || !strings.Contains(got, "\n\nInterrupt received: finishing operations in flight.\n") {
		t.Errorf("screen:\n%s", got)
	}
	if n := strings.Count(scr.String(), "Creating..."); n != 1 {
		t.Errorf("%d live lines for one operation:\n%s", n, scr)
	}
	v.Close()
	fmt.Fprintln(stderr, "after the run")
	if !strings.HasSuffix(scr.String(), "after the run\n") {
		t.Errorf("after Close:\n%s", scr)
	}
}
