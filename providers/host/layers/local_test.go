package layers

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// The tests in this file run the generated scripts for real, with bash on
// this machine through localRunner, for the kinds that need neither apt nor
// root: anaconda, docker_compose, file and shell.

const envContent = "MLFLOW_TRACKING_URI=http://localhost:5000\n"

// zoomcampLayers are the course's layers that run without root, against the
// stand-in downloads.
func zoomcampLayers(d *testworld.Downloads) []providers.Layer {
	return []providers.Layer{
		layer("anaconda", "anaconda", layerConfig("anaconda", map[string]cty.Value{
			"installer": cty.StringVal(d.URL(testworld.DownloadAnaconda)),
			"sha256":    cty.StringVal(d.SHA256(testworld.DownloadAnaconda)),
		})),
		layer("compose", "docker_compose", composeConfig("v2.5.0", d.URL(testworld.DownloadCompose), d.SHA256(testworld.DownloadCompose), true)),
		layer("env", "file", fileConfig("~/.config/mlops/env", envContent, "0644")),
		layer("ready", "shell", shellConfig(
			`test -f ~/ready && grep -q MLFLOW ~/.config/mlops/env`,
			`echo making ready; touch ~/ready`)),
	}
}

type probeView struct {
	Satisfied, Present bool
	Reasons            []string
}

func probe(t *testing.T, r Runner, layers []providers.Layer) []probeView {
	t.Helper()
	var e Engine
	resp := e.Probe(context.Background(), r, providers.ProbeRequest{Layers: layers})
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("Probe: %v", resp.Diagnostics)
	}
	if len(resp.Statuses) != len(layers) {
		t.Fatalf("Probe returned %d statuses for %d layers", len(resp.Statuses), len(layers))
	}
	var out []probeView
	for i, s := range resp.Statuses {
		if s.Addr != layers[i].Addr {
			t.Errorf("status %d is for %s, want %s", i, s.Addr, layers[i].Addr)
		}
		out = append(out, probeView{s.Satisfied, s.Present, s.Reasons})
	}
	return out
}

func runConverge(t *testing.T, r Runner, ev *events, layers []providers.Layer, remove []providers.LayerRecord) providers.ConvergeResponse {
	t.Helper()
	var e Engine
	return e.Converge(context.Background(), r, ev.request(layers, remove))
}

func mustConverge(t *testing.T, r Runner, ev *events, layers []providers.Layer, remove []providers.LayerRecord) {
	t.Helper()
	if resp := runConverge(t, r, ev, layers, remove); resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Converge failed at %v: %v\noutput: %v", resp.Failed, resp.Diagnostics, ev.output)
	}
}

var satisfied = probeView{Satisfied: true, Present: true}

func TestLocalConvergeZoomcamp(t *testing.T) {
	t.Parallel()
	d := testworld.StartDownloads(t)
	r := newLocalRunner(t)
	layers := zoomcampLayers(d)

	// Absent: nothing is there.
	got := probe(t, r, layers)
	want := []probeView{
		{Reasons: []string{"anaconda not installed at ~/anaconda3"}},
		{Reasons: []string{"~/soft/docker-compose missing", "PATH line missing in ~/.bashrc"}},
		{Reasons: []string{"~/.config/mlops/env missing"}},
		{Reasons: []string{"check failed (exit 1)"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("probe of a fresh host (-want +got):\n%s", diff)
	}
	if r.captures != 1 {
		t.Errorf("Probe of %d layers took %d Capture calls, want 1", len(layers), r.captures)
	}

	// Converge: everything in place, in order, with output streamed.
	ev := &events{}
	mustConverge(t, r, ev, layers, nil)
	if diff := cmp.Diff([]string{"anaconda", "compose", "env", "ready"}, ev.done); diff != "" {
		t.Errorf("Done calls (-want +got):\n%s", diff)
	}
	for name, wantOut := range map[string]string{
		"anaconda": "installation finished.",
		"compose":  "Docker Compose version v2.5.0",
		"env":      "wrote ~/.config/mlops/env (42 bytes, mode 0644)",
		"ready":    "making ready",
	} {
		if !strings.Contains(ev.text(name), wantOut) {
			t.Errorf("output of %s lacks %q:\n%s", name, wantOut, ev.text(name))
		}
	}
	for _, name := range []string{"anaconda", "compose"} {
		if !strings.Contains(ev.text(name), "sha256 verified") || !strings.Contains(ev.text(name), "downloading http://127.0.0.1") {
			t.Errorf("output of %s does not show the download and its check:\n%s", name, ev.text(name))
		}
	}
	if d.Hits(testworld.DownloadAnaconda) != 1 || d.Hits(testworld.DownloadCompose) != 1 || d.TotalHits() != 2 {
		t.Errorf("downloads after the first converge: anaconda %d, compose %d, total %d; want 1, 1, 2",
			d.Hits(testworld.DownloadAnaconda), d.Hits(testworld.DownloadCompose), d.TotalHits())
	}

	// Satisfied, and the host is as a person would have set it up by hand.
	got = probe(t, r, layers)
	want = []probeView{satisfied, satisfied, satisfied, {Satisfied: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("probe after converge (-want +got):\n%s", diff)
	}
	if out := r.sh(t, `source ~/.bashrc; docker-compose --version; ~/anaconda3/bin/conda --version`); out != "Docker Compose version v2.5.0\nconda 4.12.0\n" {
		t.Errorf("with ~/.bashrc sourced: %q", out)
	}
	if out := r.sh(t, `stat -c %a ~/soft/docker-compose ~/.config/mlops/env; cat ~/.config/mlops/env; ls -A ~/soft`); out != "755\n644\n"+envContent+"docker-compose\n" {
		t.Errorf("files: %q (no temporary files may remain)", out)
	}
	// The PATH line comes first; conda init's block (for this prefix) after it.
	if out := r.sh(t, `cat ~/.bashrc`); !strings.HasPrefix(out, `export PATH="$HOME/soft:$PATH" # mlops: docker_compose PATH`+"\n") ||
		!strings.Contains(out, "# >>> conda initialize >>>\n") || !strings.Contains(out, "'"+r.path("~/anaconda3/bin/conda")+"' 'shell.bash' 'hook'") {
		t.Errorf("~/.bashrc = %q", out)
	}
	if out := r.sh(t, `bash -ic 'echo "$CONDA_DEFAULT_ENV"; command -v python' 2>/dev/null`); out != "base\n"+r.path("~/anaconda3/bin/python")+"\n" {
		t.Errorf("an interactive shell after conda init: %q", out)
	}

	// A second converge changes nothing and downloads nothing.
	ev = &events{}
	mustConverge(t, r, ev, layers, nil)
	if d.TotalHits() != 2 {
		t.Errorf("the second converge downloaded: %d requests in all, want 2", d.TotalHits())
	}
	for _, name := range []string{"anaconda", "compose", "env", "ready"} {
		if ev.text(name) != "already in place, nothing to do" {
			t.Errorf("second converge, output of %s = %q", name, ev.text(name))
		}
	}
	if len(ev.done) != 4 {
		t.Errorf("second converge: Done for %v", ev.done)
	}
}

func TestLocalDrift(t *testing.T) {
	t.Parallel()
	d := testworld.StartDownloads(t)
	r := newLocalRunner(t)
	// The user's own ~/.bashrc, without a final newline.
	if err := os.WriteFile(r.path("~/.bashrc"), []byte("# mine\nalias ll='ls -l'"), 0o600); err != nil {
		t.Fatal(err)
	}
	layers := zoomcampLayers(d)[1:3] // compose, env
	layers = append(layers, layer("compose_nosum", "docker_compose",
		composeConfig("v2.5.0", d.URL(testworld.DownloadCompose), "", false)))
	layers[2].Config = cty.ObjectVal(map[string]cty.Value{
		"version": cty.StringVal("v2.5.0"), "url": cty.StringVal(d.URL(testworld.DownloadCompose)),
		"dir": cty.StringVal("~/other bin"), "path": cty.False, "sha256": cty.NullVal(cty.String),
	})
	mustConverge(t, r, &events{}, layers, nil)
	// The PATH line goes on top, the user's lines stay as they were.
	pathLine := `export PATH="$HOME/soft:$PATH" # mlops: docker_compose PATH`
	if out := r.sh(t, `cat ~/.bashrc`); out != pathLine+"\n# mine\nalias ll='ls -l'" {
		t.Errorf("~/.bashrc = %q", out)
	}

	drift := []struct {
		name  string
		shell string
		want  []probeView
	}{
		{"binary deleted", `rm ~/soft/docker-compose`, []probeView{
			{Present: true, Reasons: []string{"~/soft/docker-compose missing"}}, satisfied, satisfied}},
		{"old binary", `cp ~/old ~/soft/docker-compose && cp ~/old ~/'other bin'/docker-compose`, []probeView{
			{Present: true, Reasons: []string{"docker_compose version 1.29.2 -> v2.5.0"}},
			satisfied,
			{Present: true, Reasons: []string{"docker_compose version 1.29.2 -> v2.5.0"}}}},
		// The right version, other bytes: only the sha256 tells, and only
		// where one is configured.
		{"same version, other binary", `printf '#!/bin/sh\necho "Docker Compose version v2.5.0"\n' | tee ~/soft/docker-compose >~/'other bin'/docker-compose`, []probeView{
			{Present: true, Reasons: []string{"~/soft/docker-compose differs from sha256 " + d.SHA256(testworld.DownloadCompose)[:12] + "..."}},
			satisfied, satisfied}},
		{"not executable", `chmod -x ~/soft/docker-compose`, []probeView{
			{Present: true, Reasons: []string{"~/soft/docker-compose is not an executable file"}}, satisfied, satisfied}},
		{"PATH line removed", `sed -i '/mlops/d' ~/.bashrc`, []probeView{
			{Present: true, Reasons: []string{"PATH line missing in ~/.bashrc"}}, satisfied, satisfied}},
		{"PATH line twice", `l=$(grep mlops ~/.bashrc); printf '\n%s\n' "$l" >>~/.bashrc`, []probeView{
			{Present: true, Reasons: []string{"PATH line duplicated in ~/.bashrc"}}, satisfied,
			satisfied}},
		// Where mlops used to put it: after Debian's early return for
		// non-interactive shells.
		{"PATH line at the end", `l=$(grep mlops ~/.bashrc); sed -i '/mlops/d' ~/.bashrc; printf '\n%s\n' "$l" >>~/.bashrc`, []probeView{
			{Present: true, Reasons: []string{"PATH line in ~/.bashrc is not at its top, where non-interactive shells see it"}}, satisfied,
			satisfied}},
		{"PATH line edited", `sed -i 's|/soft|/bin|' ~/.bashrc`, []probeView{
			{Present: true, Reasons: []string{"PATH line in ~/.bashrc differs"}}, satisfied,
			satisfied}},
		{"mode", `chmod 600 ~/.config/mlops/env`, []probeView{
			satisfied, {Present: true, Reasons: []string{"mode 0600 -> 0644"}}, satisfied}},
		{"content", `echo extra >>~/.config/mlops/env`, []probeView{
			satisfied, {Present: true, Reasons: []string{"content differs"}}, satisfied}},
		{"content and mode", `echo x >~/.config/mlops/env; chmod 0755 ~/.config/mlops/env`, []probeView{
			satisfied, {Present: true, Reasons: []string{"content differs", "mode 0755 -> 0644"}}, satisfied}},
		{"file replaced by a directory", `rm ~/.config/mlops/env; mkdir ~/.config/mlops/env`, nil},
		{"file deleted", `rm -r ~/.config/mlops`, []probeView{
			satisfied, {Reasons: []string{"~/.config/mlops/env missing"}}, satisfied}},
	}
	old := d.Content(testworld.DownloadCompose1)
	if err := os.WriteFile(r.path("~/old"), old, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range drift {
		r.sh(t, tt.shell)
		got := probe(t, r, layers)
		if tt.want == nil {
			if got[1].Satisfied || got[1].Reasons[0] != "~/.config/mlops/env is not a regular file" {
				t.Errorf("%s: probe = %+v", tt.name, got[1])
			}
			r.sh(t, `rmdir ~/.config/mlops/env`)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: probe (-want +got):\n%s", tt.name, diff)
		}
		hits := d.TotalHits()
		mustConverge(t, r, &events{}, layers, nil)
		if diff := cmp.Diff([]probeView{satisfied, satisfied, satisfied}, probe(t, r, layers)); diff != "" {
			t.Errorf("%s: probe after converge (-want +got):\n%s", tt.name, diff)
		}
		binaryChanged := strings.Contains(strings.Join(tt.want[0].Reasons, " "), "docker-compose") || strings.Contains(strings.Join(tt.want[0].Reasons, " "), "version")
		if wantHits := hits + map[bool]int{true: 1}[binaryChanged] + map[bool]int{true: 1}[len(tt.want[2].Reasons) > 0 && strings.Contains(tt.want[2].Reasons[0], "version")]; d.TotalHits() != wantHits {
			t.Errorf("%s: %d downloads, want %d", tt.name, d.TotalHits()-hits, wantHits-hits)
		}
	}
	if out := r.sh(t, `cat ~/.bashrc`); !strings.HasPrefix(out, pathLine+"\n# mine\nalias ll='ls -l'") || strings.Count(out, "mlops") != 1 {
		t.Errorf("~/.bashrc after all drift = %q", out)
	}
}

func TestLocalRemove(t *testing.T) {
	t.Parallel()
	d := testworld.StartDownloads(t)
	r := newLocalRunner(t)
	layers := zoomcampLayers(d)
	mustConverge(t, r, &events{}, layers, nil)

	var remove []providers.LayerRecord
	for _, l := range layers {
		remove = append(remove, providers.LayerRecord{Addr: l.Addr, Kind: l.Kind, Digest: l.Digest, Config: l.Config})
	}
	apt := layer("tools", "apt", layerConfig("apt", map[string]cty.Value{"packages": strList("git")}))
	remove = append(remove,
		providers.LayerRecord{Addr: apt.Addr, Kind: apt.Kind, Config: apt.Config},
		providers.LayerRecord{Addr: layer("old", "file", cty.NilVal).Addr, Kind: "file", Config: cty.NullVal(cty.DynamicPseudoType)},
	)
	// A layer that stays and writes the same file as a removed one keeps it.
	keep := layer("env2", "file", fileConfig("~/.config/mlops/env", envContent, "0644"))
	ev := &events{}
	mustConverge(t, r, ev, []providers.Layer{keep}, remove)
	if diff := cmp.Diff([]string{"anaconda", "compose", "env", "ready", "tools", "old"}, ev.removed); diff != "" {
		t.Errorf("Removed calls (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{
		"anaconda": "left in place: mlops does not delete ~/anaconda3",
		"compose":  "removed ~/soft/docker-compose",
		"env":      "left in place: ~/.config/mlops/env is still written by another layer",
		"ready":    "left in place: mlops cannot undo a shell layer",
		"tools":    "left in place: mlops does not uninstall apt packages",
		"old":      "left in place: the state does not record how this layer was configured",
	} {
		if !strings.Contains(ev.text(name), want) {
			t.Errorf("output of removed %s = %q, want it to contain %q", name, ev.text(name), want)
		}
	}
	if out := r.sh(t, `ls -A ~/soft; grep -c 'mlops: docker_compose' ~/.bashrc; grep -c '>>> conda initialize' ~/.bashrc; cat ~/.config/mlops/env; ~/anaconda3/bin/conda --version`); out != "0\n1\n"+envContent+"conda 4.12.0\n" {
		t.Errorf("after removal: %q", out)
	}

	// Removing the last file layer deletes the file.
	ev = &events{}
	mustConverge(t, r, ev, nil, []providers.LayerRecord{{Addr: keep.Addr, Kind: "file", Config: keep.Config}})
	if _, err := os.Stat(r.path("~/.config/mlops/env")); !os.IsNotExist(err) {
		t.Errorf("~/.config/mlops/env still there: %v", err)
	}
	if !strings.Contains(ev.text("env2"), "removed ~/.config/mlops/env") {
		t.Errorf("output: %q", ev.text("env2"))
	}
}

func TestLocalFailures(t *testing.T) {
	t.Parallel()
	d := testworld.StartDownloads(t)
	later := layer("later", "file", fileConfig("~/later", "x", "0644"))
	tests := []struct {
		name  string
		layer providers.Layer
		// detail must contain all of these
		detail []string
	}{
		{"run fails", layer("s", "shell", shellConfig("false", "{ for i in $(seq 1 30); do echo line $i; done; echo oops; } >&2; exit 3")),
			[]string{"The shell layer's script exited with status 3.", "line 12\n", "line 30\noops", "Its last output lines:\nline 12\n"}},
		{"check still fails", layer("s", "shell", shellConfig("test -f ~/nothing", "true")),
			[]string{"check still fails after run (exit 1)"}},
		{"checksum mismatch", layer("c", "docker_compose", composeConfig("v2.5.0", d.URL(testworld.DownloadCompose), strings.Repeat("0", 64), true)),
			[]string{"checksum mismatch: got sha256 " + d.SHA256(testworld.DownloadCompose) + ", want " + strings.Repeat("0", 64)}},
		{"wrong version", layer("c", "docker_compose", composeConfig("v2.5.0", d.URL(testworld.DownloadCompose1), "", true)),
			[]string{"docker-compose version 1.29.2, build 5becea4c", "the downloaded binary does not report version v2.5.0"}},
		{"404", layer("c", "docker_compose", composeConfig("v2.5.0", d.URL("missing"), "", true)),
			[]string{"download of " + d.URL("missing") + " failed (curl exit status 22)"}},
		{"anaconda checksum", layer("a", "anaconda", layerConfig("anaconda", map[string]cty.Value{
			"installer": cty.StringVal(d.URL(testworld.DownloadAnaconda)), "sha256": cty.StringVal(strings.Repeat("a", 64)),
		})), []string{"checksum mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLocalRunner(t)
			ev := &events{}
			resp := runConverge(t, r, ev, []providers.Layer{tt.layer, later}, nil)
			if resp.Failed == nil || *resp.Failed != tt.layer.Addr {
				t.Fatalf("Failed = %v, want %s; diagnostics %v", resp.Failed, tt.layer.Addr, resp.Diagnostics)
			}
			if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != "Layer "+tt.layer.Addr.String()+" failed" {
				t.Fatalf("diagnostics = %v", resp.Diagnostics)
			}
			for _, want := range tt.detail {
				if !strings.Contains(resp.Diagnostics[0].Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, resp.Diagnostics[0].Detail)
				}
			}
			if strings.Contains(resp.Diagnostics[0].Detail, "line 10\n") {
				t.Errorf("detail quotes more than the last 20 lines:\n%s", resp.Diagnostics[0].Detail)
			}
			if len(ev.done) != 0 {
				t.Errorf("Done called for %v", ev.done)
			}
			if _, err := os.Stat(r.path("~/later")); !os.IsNotExist(err) {
				t.Errorf("the layer after the failed one ran: %v", err)
			}
			// Nothing half-installed, no temporary files left behind.
			if out := r.sh(t, `ls -A ~/soft 2>/dev/null; ls -A ~/anaconda3 2>/dev/null; ls -A "$TMPDIR"`); out != "" {
				t.Errorf("left behind: %q", out)
			}
		})
	}
}

// TestLocalHostileValues writes files whose paths and contents are full of
// shell syntax: they land exactly where and as configured, and nothing runs.
func TestLocalHostileValues(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t)
	var layers []providers.Layer
	for i, s := range hostile {
		if s == "" || strings.ContainsAny(s, "\x00\n\x01\x7f\t") {
			continue
		}
		dest := "~/d/" + strings.ReplaceAll(s, "/", "_") + ".txt"
		layers = append(layers, layer("f"+string(rune('a'+i)), "file", fileConfig(dest, s+"\n"+strings.Join(hostile, "\n"), "0600")))
	}
	mustConverge(t, r, &events{}, layers, nil)
	if diff := cmp.Diff([]probeView{satisfied}, probe(t, r, layers)[:1]); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
	for _, l := range layers {
		dest := l.Config.GetAttr("destination").AsString()
		b, err := os.ReadFile(r.path(dest))
		if err != nil {
			t.Errorf("%s: %v", dest, err)
			continue
		}
		if string(b) != l.Config.GetAttr("content").AsString() {
			t.Errorf("%s: content %q", dest, b)
		}
	}
	entries, _ := os.ReadDir(r.home)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"d"}, names); diff != "" {
		t.Errorf("home holds more than d/ (-want +got):\n%s", diff)
	}
}

// TestLocalStdinIsNotTheScript runs commands that read stdin: they must get
// /dev/null, not swallow the rest of the script that bash -s is reading.
func TestLocalStdinIsNotTheScript(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t)
	layers := []providers.Layer{
		layer("reader", "shell", shellConfig("cat >/dev/null; test -f ~/ran", "cat; read -r x || true; touch ~/ran")),
		layer("after", "file", fileConfig("~/after", "x", "0644")),
	}
	got := probe(t, r, layers)
	want := []probeView{{Reasons: []string{"check failed (exit 1)"}}, {Reasons: []string{"~/after missing"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("probe (-want +got):\n%s", diff)
	}
	mustConverge(t, r, &events{}, layers, nil)
	if diff := cmp.Diff([]probeView{{Satisfied: true}, satisfied}, probe(t, r, layers)); diff != "" {
		t.Errorf("probe after converge (-want +got):\n%s", diff)
	}
}

// TestLocalProbeRunsToolsOnce: the anaconda probe never runs conda (a
// Python program, slow to start): it reads the installation's files; the
// docker_compose probe hashes the binary only when it reports the wanted
// version and a sha256 is set.
func TestLocalProbeRunsToolsOnce(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t)
	tool := func(path, output string, exit int) {
		t.Helper()
		script := fmt.Sprintf("#!/bin/sh\necho run >>\"$HOME/%s.log\"\necho %s\nexit %d\n", filepath.Base(path), quote(output), exit)
		if err := os.MkdirAll(filepath.Dir(r.path(path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.path(path), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runs := func(name string) int {
		b, _ := os.ReadFile(r.path("~/" + name + ".log"))
		_ = os.Remove(r.path("~/" + name + ".log"))
		return strings.Count(string(b), "run\n")
	}
	conda := layer("conda", "anaconda", layerConfig("anaconda", map[string]cty.Value{"installer": cty.StringVal("https://example.com/a.sh")}))
	tool("~/anaconda3/bin/conda", "conda 4.12.0", 0)
	// What a real Anaconda3-2022.05 has: conda's record among the other
	// conda-* packages' records, and conda init's block in ~/.bashrc.
	r.sh(t, `mkdir -p ~/anaconda3/conda-meta && cd ~/anaconda3/conda-meta &&
touch conda-build-3.21.8-py39h06a4308_2.json conda-package-handling-1.8.1-py39h7f8727e_0.json conda-4.12.0-py39h06a4308_0.json history &&
printf '# >>> conda initialize >>>\n__conda_setup="$(%s shell.bash hook)"\n# <<< conda initialize <<<\n' "'$HOME/anaconda3/bin/conda'" >>~/.bashrc`)
	condaFacts := func() facts {
		t.Helper()
		s, err := decode("anaconda", conda.Config)
		if err != nil {
			t.Fatal(err)
		}
		res, diags := (&Engine{}).probe(context.Background(), r, []providers.Layer{conda}, []spec{s})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return res[0].facts
	}
	if f := condaFacts(); f["version"] != "4.12.0" || f["interp"] != "/bin/sh" || !f.flag("runs") || !f.flag("init") {
		t.Errorf("facts of a working installation: %q", f)
	}
	if got := probe(t, r, []providers.Layer{conda}); !got[0].Satisfied || runs("conda") != 0 {
		t.Errorf("working conda: probe = %+v, want satisfied without running conda", got)
	}
	for _, tt := range []struct{ name, shell, reason string }{
		{"interpreter gone", `sed -i '1s|.*|#!/nonexistent/python|' ~/anaconda3/bin/conda`,
			"~/anaconda3/bin/conda cannot run: its interpreter /nonexistent/python is missing"},
		{"no #! line", `sed -i '1d' ~/anaconda3/bin/conda`, "~/anaconda3/bin/conda has no #! line"},
		{"no conda record", `rm ~/anaconda3/conda-meta/conda-4.12.0-py39h06a4308_0.json`, "no conda package record in ~/anaconda3/conda-meta"},
		{"no conda init", `sed -i '/conda initialize/d' ~/.bashrc`, "conda init not run for bash (no conda initialize block in ~/.bashrc)"},
	} {
		tool("~/anaconda3/bin/conda", "conda 4.12.0", 0)
		r.sh(t, `cd ~/anaconda3/conda-meta && touch conda-4.12.0-py39h06a4308_0.json && grep -q 'conda initialize' ~/.bashrc || printf '# >>> conda initialize >>>\n%s\n# <<< conda initialize <<<\n' "'$HOME/anaconda3/bin/conda'" >>~/.bashrc`)
		r.sh(t, tt.shell)
		want := []probeView{{Present: true, Reasons: []string{tt.reason}}}
		if diff := cmp.Diff(want, probe(t, r, []providers.Layer{conda})); diff != "" || runs("conda") != 0 {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	// The stand-in's sum is the sha256 of these bytes.
	tool("~/soft/docker-compose", "Docker Compose version v2.5.0", 0)
	b, err := os.ReadFile(r.path("~/soft/docker-compose"))
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(b))
	facts := func(version, sha string) facts {
		t.Helper()
		s, err := decode("docker_compose", composeConfig(version, "https://example.com/c", sha, false))
		if err != nil {
			t.Fatal(err)
		}
		res, diags := (&Engine{}).probe(context.Background(), r, []providers.Layer{layer("c", "docker_compose", cty.NilVal)}, []spec{s})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if n := runs("docker-compose"); n != 1 {
			t.Errorf("docker-compose ran %d times, want 1", n)
		}
		return res[0].facts
	}
	for _, tt := range []struct {
		version, sha string
		hashed       bool
	}{
		{"v2.5.0", sum, true},
		{"v2.5.0", strings.Repeat("0", 64), true},
		{"v2.6.0", sum, false},
		{"v2.5.0", "", false},
	} {
		f := facts(tt.version, tt.sha)
		got, hashed := f["sum"]
		if hashed != tt.hashed || hashed && got != sum {
			t.Errorf("version %s, sha256 %.8s: sum fact %q (reported: %v), want reported: %v", tt.version, tt.sha, got, hashed, tt.hashed)
		}
	}
}

// TestHangingShellCheckTimesOut: a shell check that never ends is killed
// after the layer's timeout and counts as failed, so plan goes on; the
// timeout is not part of the layer's digest (changing it re-runs nothing).
func TestHangingShellCheckTimesOut(t *testing.T) {
	r := newLocalRunner(t)
	cfg := layerConfig("shell", map[string]cty.Value{
		"check":   cty.StringVal("sleep 600"),
		"run":     cty.StringVal("true"),
		"timeout": cty.StringVal("1s"),
	})
	start := time.Now()
	got := probe(t, r, []providers.Layer{layer("hang", "shell", cfg)})
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the probe took %v", el)
	}
	if d := cmp.Diff([]probeView{{Reasons: []string{"check timed out after 1s"}}}, got); d != "" {
		t.Errorf("probe (-want +got):\n%s", d)
	}
	other := layerConfig("shell", map[string]cty.Value{
		"check":   cty.StringVal("sleep 600"),
		"run":     cty.StringVal("true"),
		"timeout": cty.StringVal("5m"),
	})
	if providers.LayerDigest("shell", cfg) != providers.LayerDigest("shell", other) {
		t.Error("the timeout changes the layer's digest")
	}
	if err := validateTimeout("0s"); err == nil {
		t.Error("a zero timeout passed")
	}
}

// TestDownloadHardening: curl takes the URL literally (no glob expansion),
// an https URL is never followed to plain http, and user:password@ never
// reaches the output or a diagnostic.
func TestDownloadHardening(t *testing.T) {
	if got := redactURL("https://alice:s3cret@example.com/a@b"); got != "https://***@example.com/a@b" {
		t.Errorf("redactURL = %q", got)
	}
	if err := validateURL("https://alice:s3cret@exa mple.com/"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("validateURL error = %v", err)
	}
	if err := validateURL("https://alice:s3cret@example.com/x.sh"); err != nil {
		t.Errorf("a URL with credentials is valid: %v", err)
	}
	for _, want := range []string{"--globoff", `--proto-redir "$proto"`, "proto='=https'"} {
		if !strings.Contains(convergeHelpers, want) {
			t.Errorf("the download helper lacks %s", want)
		}
	}

	// Run the helper for real: a redirect from https to http is refused,
	// and the password is not printed when the download fails.
	r := newLocalRunner(t)
	var out strings.Builder
	code, err := r.Run(context.Background(), convergeHelpers+"\n__mlops_download 'http://bob:pa55w0rd@127.0.0.1:9/x[1-2].sh' \"$HOME/x\"\n", func(_ Stream, line string) {
		out.WriteString(line + "\n")
	})
	if err != nil || code == 0 {
		t.Fatalf("download from a closed port: exit %d, %v", code, err)
	}
	if strings.Contains(out.String(), "pa55w0rd") || !strings.Contains(out.String(), "http://***@127.0.0.1:9/x[1-2].sh") {
		t.Errorf("output:\n%s", out.String())
	}
}
