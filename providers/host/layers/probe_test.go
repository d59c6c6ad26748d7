package layers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// factLine renders one fact record as probeScript's __mlops_fact prints it,
// without its final newline.
func factLine(nonce string, i int, key, value string) string {
	return fmt.Sprintf("@@mlops:%s %d %s %d %s", nonce, i, key, len(value), value)
}

// probeOutput renders complete probe output for the given facts per layer.
func probeOutput(nonce string, sections ...facts) []byte {
	var b strings.Builder
	for i, f := range sections {
		fmt.Fprintln(&b, factLine(nonce, i, "begin", ""))
		for _, k := range slices.Sorted(maps.Keys(f)) {
			fmt.Fprintln(&b, factLine(nonce, i, k, f[k]))
		}
		fmt.Fprintln(&b, factLine(nonce, i, "end", "0"))
	}
	return []byte(b.String())
}

func TestParseProbe(t *testing.T) {
	const n = "n0nce"
	l := func(i int, k, v string) string { return factLine(n, i, k, v) }
	tests := []struct {
		name    string
		layers  int
		out     string
		want    []facts
		wantErr string
	}{{
		name:   "garbage and forged lines are ignored, values are taken by their length",
		layers: 2,
		out: strings.Join([]string{
			"Welcome to Ubuntu 22.04 LTS",
			l(0, "begin", ""),
			"@@mlops:other 0 version 6 forged",
			"@@mlops 0 version 2 v1",
			l(0, "version", "Docker Compose version v2.5.0\nsecond line\n"),
			l(0, "forger", "x\n"+l(0, "end", "0")+"\n"+l(1, "begin", "")),
			l(0, "spaces", " a  b "),
			l(0, "bytes", "\x00\xff\xc3\xa9 \r\n\r"),
			l(0, "empty", ""),
			"\x00\xff binary junk",
			"a message without a newline" + l(0, "end", "0"),
			l(1, "begin", ""),
			l(1, "empty", ""),
			l(1, "end", "0"),
			"trailing noise",
		}, "\n"),
		want: []facts{
			{
				"version": "Docker Compose version v2.5.0\nsecond line\n",
				"forger":  "x\n" + l(0, "end", "0") + "\n" + l(1, "begin", ""),
				"spaces":  " a  b ", "bytes": "\x00\xff\xc3\xa9 \r\n\r", "empty": "",
			},
			{"empty": ""},
		},
	}, {
		name:    "missing section",
		layers:  2,
		out:     l(0, "begin", "") + "\n" + l(0, "end", "0") + "\n",
		wantErr: "layer 1: the probe output has no section for it",
	}, {
		name:    "cut short",
		layers:  2,
		out:     l(0, "begin", "") + "\n" + l(0, "end", "0") + "\n" + l(1, "begin", "") + "\n" + l(1, "x", "1") + "\n",
		wantErr: "layer 1: its section of the probe output is cut short",
	}, {
		name:    "cut short in a value",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + strings.TrimSuffix(l(0, "x", "two\nlines"), "lines"),
		wantErr: "layer 0: its section of the probe output is cut short",
	}, {
		name:    "cut short before the last newline",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + l(0, "end", "0"),
		wantErr: "layer 0: its section of the probe output is cut short",
	}, {
		name:    "cut short in a record's head",
		layers:  1,
		out:     l(0, "begin", "") + "\n@@mlops:n0nce 0 en",
		wantErr: "layer 0: its section of the probe output is cut short",
	}, {
		name:    "empty output",
		layers:  1,
		out:     "",
		wantErr: "layer 0: the probe output has no section for it",
	}, {
		name:    "value longer than its length",
		layers:  1,
		out:     l(0, "begin", "") + "\n@@mlops:n0nce 0 x 2 abc\n" + l(0, "end", "0") + "\n",
		wantErr: "probe output line 2 has a value of 2 bytes that is not followed by a newline",
	}, {
		name:    "value shorter than its length",
		layers:  1,
		out:     l(0, "begin", "") + "\n@@mlops:n0nce 0 x 4 abc\n" + l(0, "end", "0") + "\n",
		wantErr: "probe output line 2 has a value of 4 bytes that is not followed by a newline",
	}, {
		name:    "length not a number",
		layers:  1,
		out:     l(0, "begin", "") + "\n@@mlops:n0nce 0 x -1 abc\n",
		wantErr: `probe output line 2 has a value length that is not a number: "-1"`,
	}, {
		name:    "line numbers count the newlines in values",
		layers:  1,
		out:     "banner\n" + l(0, "begin", "") + "\n" + l(0, "x", "a\nb\n") + "\n" + l(0, "x", "") + "\n",
		wantErr: `probe output line 6 repeats fact "x" of layer 0`,
	}, {
		name:    "unknown layer",
		layers:  1,
		out:     l(7, "begin", "") + "\n",
		wantErr: `probe output line 1 names layer "7", which was not probed`,
	}, {
		name:    "layer not a number",
		layers:  1,
		out:     "@@mlops:n0nce +0 begin 0 \n",
		wantErr: `probe output line 1 names layer "+0", which was not probed`,
	}, {
		name:    "too few fields",
		layers:  1,
		out:     "@@mlops:n0nce 0 begin 0\n",
		wantErr: `probe output line 1 is malformed: "0 begin 0"`,
	}, {
		name:    "empty key",
		layers:  1,
		out:     "@@mlops:n0nce 0  0 \n",
		wantErr: "probe output line 1 is malformed",
	}, {
		name:    "fact before begin",
		layers:  1,
		out:     l(0, "x", "1") + "\n",
		wantErr: "probe output line 1 has a fact for layer 0 before its section began",
	}, {
		name:    "fact after end",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + l(0, "end", "0") + "\n" + l(0, "x", "1") + "\n",
		wantErr: "probe output line 3 has a fact for layer 0 after its section ended",
	}, {
		name:    "repeated fact",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + l(0, "x", "1") + "\n" + l(0, "x", "2") + "\n",
		wantErr: `probe output line 3 repeats fact "x" of layer 0`,
	}, {
		name:    "repeated section",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + l(0, "begin", "") + "\n",
		wantErr: "probe output line 2 starts layer 0 a second time",
	}, {
		name:    "end status not a number",
		layers:  1,
		out:     l(0, "begin", "") + "\n" + l(0, "end", "x") + "\n",
		wantErr: "layer 0 ended with a status that is not a number",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProbe("n0nce", tt.layers, []byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotFacts []facts
			for _, r := range got {
				gotFacts = append(gotFacts, r.facts)
			}
			if diff := cmp.Diff(tt.want, gotFacts); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
}

// rawSpec is a spec whose probe is the given bash lines.
type rawSpec struct{ lines []string }

func (s rawSpec) probe(w *script) {
	for _, l := range s.lines {
		w.line(l)
	}
}
func (rawSpec) status(facts) status           { return status{} }
func (rawSpec) apply(*script, facts)          {}
func (rawSpec) remove(*script, []spec) string { return "" }

// ansiC quotes s as a bash $'...' string, every byte escaped.
func ansiC(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "\\x%02x", s[i])
	}
	b.WriteString("'")
	return b.String()
}

// TestFactEncodingInBash runs probeScript's __mlops_fact in bash under a
// UTF-8 locale, with an empty PATH (so that it can only use builtins), over
// values that would break a naive encoding, and parses the output back.
func TestFactEncodingInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	env := []string{"PATH=/mlops-no-such-dir", "LC_ALL=C.UTF-8"}
	run := func(script string) ([]byte, string) {
		cmd := exec.Command(bash, "-s")
		cmd.Env = env
		cmd.Stdin = strings.NewReader(script)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, stderr.String())
		}
		return out, stderr.String()
	}
	if out, _ := run("v=$'\\xc3\\xa9'; echo ${#v}\n"); string(out) != "1\n" {
		t.Logf("C.UTF-8 is not available here: ${#v} counts bytes anyway (%q)", out)
	}
	values := []string{
		"",
		"plain",
		"two\nlines\n\n",
		"héllo wörld ✓ 日本",
		"\xff\xfe not UTF-8 \xc3",
		"@@mlops:N 0 end 1 0\n@@mlops:N 1 begin 0 \n@@mlops:N 1 end 1 0",
		"%s %d %% \\n \\ '\" $HOME `x`",
		"  spaces  ",
		"\r\n\r",
		"-v",
		strings.Repeat("ab\nc✓", 20000),
	}
	var lines []string
	want := facts{}
	for i, v := range values {
		k := fmt.Sprintf("v%d", i)
		lines = append(lines, "__mlops_fact "+k+" "+ansiC(v), "echo stray output")
		want[k] = v
	}
	lines = append(lines, "__mlops_fact from_cmd \"$(printf 'é\\n\\n')\"", "printf 'no newline at the end'")
	want["from_cmd"] = "é"
	out, stderr := run(probeScript("N", []spec{rawSpec{lines}, rawSpec{[]string{"(exit 3)"}}}))
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	res, err := parseProbe("N", 2, out)
	if err != nil {
		t.Fatalf("parseProbe: %v\n%q", err, clip(out))
	}
	if diff := cmp.Diff(want, res[0].facts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	if !res[1].ended || res[1].exit != 3 || len(res[1].facts) != 0 {
		t.Errorf("second section = %+v, want ended with status 3 and no facts", res[1])
	}
}

// fakeRunner answers Capture from a queue and records everything it is asked.
type fakeRunner struct {
	user     string
	captures []func(script string) ([]byte, []byte, int, error)
	runs     []func(script string, out func(Stream, string)) (int, error)
	reconn   error

	log     []string // "capture", "run", "reconnect", in order
	scripts []string // scripts passed to Run
}

func (f *fakeRunner) Capture(_ context.Context, script string) ([]byte, []byte, int, error) {
	f.log = append(f.log, "capture")
	if len(f.captures) == 0 {
		return nil, nil, 0, errors.New("fakeRunner: unexpected Capture")
	}
	c := f.captures[0]
	f.captures = f.captures[1:]
	return c(script)
}

func (f *fakeRunner) Run(_ context.Context, script string, out func(Stream, string)) (int, error) {
	f.log = append(f.log, "run")
	f.scripts = append(f.scripts, script)
	if len(f.runs) == 0 {
		return 0, nil
	}
	r := f.runs[0]
	f.runs = f.runs[1:]
	return r(script, out)
}

func (f *fakeRunner) Reconnect(context.Context) error {
	f.log = append(f.log, "reconnect")
	return f.reconn
}

func (f *fakeRunner) User() string { return f.user }

// reply makes a Capture answer with the given facts, checking that the
// script asks for as many layers.
func reply(sections ...facts) func(string) ([]byte, []byte, int, error) {
	return func(script string) ([]byte, []byte, int, error) {
		if got := strings.Count(script, "\n__mlops_fact begin ''\n"); got != len(sections) {
			return nil, nil, 0, fmt.Errorf("fakeRunner: the probe script has %d sections, the reply %d", got, len(sections))
		}
		return probeOutput("N", sections...), nil, 0, nil
	}
}

func fixedNonce() string { return "N" }

func TestProbeReportsBrokenOutput(t *testing.T) {
	layers := []providers.Layer{
		layer("a", "shell", shellConfig("true", "true")),
		layer("b", "shell", shellConfig("true", "true")),
	}
	r := &fakeRunner{user: "ubuntu", captures: []func(string) ([]byte, []byte, int, error){
		func(string) ([]byte, []byte, int, error) {
			out := factLine("N", 0, "begin", "") + "\n" + factLine("N", 0, "rc", "0") + "\n" + factLine("N", 0, "end", "0") + "\n" + factLine("N", 1, "begin", "") + "\n"
			return []byte(out), []byte("bash: line 40: timeout: command not found\nKilled\n"), 137, nil
		},
		func(string) ([]byte, []byte, int, error) { return nil, nil, 0, errors.New("connection reset") },
	}}
	e := Engine{Nonce: fixedNonce}
	resp := e.Probe(context.Background(), r, providers.ProbeRequest{Layers: layers})
	if resp.Statuses != nil || len(resp.Diagnostics) != 1 {
		t.Fatalf("Probe = %+v", resp)
	}
	d := resp.Diagnostics[0]
	if d.Summary != "Cannot probe layer aws_instance.web.layer.b" {
		t.Errorf("summary = %q", d.Summary)
	}
	for _, want := range []string{"cut short", "exited with status 137", "Killed"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, d.Detail)
		}
	}
	resp = e.Probe(context.Background(), r, providers.ProbeRequest{Layers: layers})
	if len(resp.Diagnostics) != 1 || !strings.Contains(resp.Diagnostics[0].Detail, "connection reset") {
		t.Errorf("Probe over a broken connection = %+v", resp)
	}
	if resp := e.Probe(context.Background(), r, providers.ProbeRequest{}); resp.Statuses == nil || len(resp.Statuses) != 0 || len(r.log) != 2 {
		t.Errorf("Probe of no layers = %+v after %v; want no statuses and no round trip", resp, r.log)
	}
	bad := layer("c", "file", fileConfig("relative/path", "x", "0644"))
	if resp := e.Probe(context.Background(), r, providers.ProbeRequest{Layers: []providers.Layer{bad}}); len(resp.Diagnostics) != 1 ||
		resp.Diagnostics[0].Summary != "Invalid layer aws_instance.web.layer.c" {
		t.Errorf("Probe of an invalid layer = %+v", resp)
	}
}

// TestProbeAptDockerLocally runs the read-only apt and docker probes on this
// machine (dpkg-query and id only; nothing is installed or changed).
func TestProbeAptDockerLocally(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query on this machine")
	}
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "bash").Output()
	if err != nil {
		t.Skipf("bash is not a dpkg package here: %v", err)
	}
	bashVersion := string(out)
	r := newLocalRunner(t)
	layers := []providers.Layer{
		layer("tools", "apt", layerConfig("apt", map[string]cty.Value{
			"update":   cty.True,
			"packages": strList("bash", "bash="+bashVersion, "coreutils=0.0-mlops", "mlops-no-such-package"),
		})),
		layer("only_update", "apt", layerConfig("apt", map[string]cty.Value{"update": cty.True})),
		layer("docker", "docker", layerConfig("docker", map[string]cty.Value{
			"package": cty.StringVal("mlops-no-such-package"),
			"users":   strList("mlops-no-such-user"),
		})),
	}
	got := probe(t, r, layers)
	if len(got[0].Reasons) != 2 || !strings.HasPrefix(got[0].Reasons[0], "package coreutils version ") ||
		!strings.HasSuffix(got[0].Reasons[0], " -> 0.0-mlops") || got[0].Reasons[1] != "package mlops-no-such-package not installed" ||
		got[0].Satisfied || !got[0].Present {
		t.Errorf("apt probe = %+v", got[0])
	}
	if diff := cmp.Diff(probeView{Satisfied: true}, got[1]); diff != "" {
		t.Errorf("apt with update only (-want +got):\n%s", diff)
	}
	want := probeView{Reasons: []string{"package mlops-no-such-package not installed", "user mlops-no-such-user does not exist"}}
	if diff := cmp.Diff(want, got[2]); diff != "" {
		t.Errorf("docker probe (-want +got):\n%s", diff)
	}
}

func TestDockerStatus(t *testing.T) {
	s := &dockerSpec{pkg: "docker.io", users: []string{"ubuntu", "alice"}}
	st := s.status(facts{
		"pkg":      "install ok installed|20.10.12-0ubuntu4",
		"exists.0": "1", "groups.0": "ubuntu adm sudo",
		"exists.1": "1", "groups.1": "alice docker",
		"daemon": "1",
	})
	want := status{present: true, reasons: []string{"user ubuntu not in group docker"}}
	if diff := cmp.Diff(want, st, cmp.AllowUnexported(status{})); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	// The daemon: running, and under systemd enabled at boot.
	users := facts{"groups.0": "docker", "groups.1": "docker"}
	for _, tt := range []struct {
		daemon facts
		want   []string
	}{
		{facts{"daemon": "1", "systemd": "", "enabled": ""}, nil},
		{facts{"daemon": "1", "systemd": "1", "enabled": "1"}, nil},
		{facts{"daemon": "", "systemd": "", "enabled": ""}, []string{"docker daemon not running"}},
		{facts{"daemon": "1", "systemd": "1", "enabled": ""}, []string{"docker service not enabled at boot"}},
		{facts{"daemon": "", "systemd": "1", "enabled": ""}, []string{"docker daemon not running", "docker service not enabled at boot"}},
	} {
		f := facts{"pkg": "install ok installed|20.10.12-0ubuntu4"}
		maps.Copy(f, users)
		maps.Copy(f, tt.daemon)
		want := status{present: true, satisfied: tt.want == nil, reasons: tt.want}
		if diff := cmp.Diff(want, s.status(f), cmp.AllowUnexported(status{})); diff != "" {
			t.Errorf("daemon facts %q: status (-want +got):\n%s", tt.daemon, diff)
		}
	}
	st = s.status(facts{"pkg": "deinstall ok config-files|20.10.12-0ubuntu4", "groups.0": "docker", "groups.1": "dockers docker"})
	want = status{reasons: []string{"package docker.io not installed"}}
	if diff := cmp.Diff(want, st, cmp.AllowUnexported(status{})); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// TestComposePathReason: the PATH line must be the first command of
// ~/.bashrc, above the early return of Debian's and Ubuntu's ~/.bashrc.
func TestComposePathReason(t *testing.T) {
	s := &composeSpec{version: "v2.5.0", dir: "~/soft", path: true}
	line := s.pathLine()
	for _, tt := range []struct {
		f    facts
		want string
	}{
		{facts{"pathlines": line, "firstcmd": line}, ""},
		{facts{"pathlines": line, "firstcmd": "case $- in"}, "PATH line in ~/.bashrc is not at its top, where non-interactive shells see it"},
		{facts{"pathlines": "", "firstcmd": "case $- in"}, "PATH line missing in ~/.bashrc"},
		{facts{"pathlines": line + "\n" + line, "firstcmd": line}, "PATH line duplicated in ~/.bashrc"},
	} {
		if got := s.pathReason(tt.f); got != tt.want {
			t.Errorf("facts %q: reason %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestComposeStatus(t *testing.T) {
	sum := strings.Repeat("a", 64)
	s := &composeSpec{version: "v2.5.0", dir: "~/soft", sha256: sum}
	differs := "~/soft/docker-compose differs from sha256 aaaaaaaaaaaa..."
	for _, tt := range []struct {
		name string
		f    facts
		want []string
	}{
		{"right version and sum", facts{"exists": "1", "exec": "1", "version": "Docker Compose version v2.5.0", "sum": sum}, nil},
		{"right version, other sum", facts{"exists": "1", "exec": "1", "version": "Docker Compose version v2.5.0", "sum": "b"}, []string{differs}},
		{"other version, not hashed", facts{"exists": "1", "exec": "1", "version": "docker-compose version 1.29.2"}, []string{"docker_compose version 1.29.2 -> v2.5.0"}},
		{"right version, not hashed", facts{"exists": "1", "exec": "1", "version": "Docker Compose version v2.5.0"}, []string{differs}},
	} {
		if got := s.binaryReasons(tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("%s: reasons %q, want %q", tt.name, got, tt.want)
		}
	}
}
