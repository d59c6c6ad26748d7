package layers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// layerConfig builds a config the way the config loader does: the given
// attributes, defaults for the other optional ones, null for the rest.
func layerConfig(kind string, set map[string]cty.Value) cty.Value {
	ls := Schemas()[kind]
	vals := map[string]cty.Value{}
	for name, a := range ls.Attributes {
		switch v, ok := set[name]; {
		case ok:
			vals[name] = v
		case a.Default != cty.NilVal:
			vals[name] = a.Default
		default:
			vals[name] = cty.NullVal(a.Type)
		}
	}
	return cty.ObjectVal(vals)
}

func composeConfig(version, url, sha string, path bool) cty.Value {
	set := map[string]cty.Value{"version": cty.StringVal(version), "url": cty.StringVal(url), "path": cty.BoolVal(path)}
	if sha != "" {
		set["sha256"] = cty.StringVal(sha)
	}
	return layerConfig("docker_compose", set)
}

func fileConfig(dest, content, mode string) cty.Value {
	return layerConfig("file", map[string]cty.Value{
		"destination": cty.StringVal(dest), "content": cty.StringVal(content), "mode": cty.StringVal(mode),
	})
}

func shellConfig(check, run string) cty.Value {
	return layerConfig("shell", map[string]cty.Value{"check": cty.StringVal(check), "run": cty.StringVal(run)})
}

func strList(v ...string) cty.Value {
	if len(v) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	var vals []cty.Value
	for _, s := range v {
		vals = append(vals, cty.StringVal(s))
	}
	return cty.ListVal(vals)
}

var web = addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "web"}

// layer makes a providers.Layer named name on aws_instance.web.
func layer(name, kind string, cfg cty.Value) providers.Layer {
	return providers.Layer{Addr: addrs.Layer{Resource: web, Name: name}, Kind: kind, Config: cfg, Digest: providers.LayerDigest(kind, cfg)}
}

// localRunner is a Runner that runs scripts with `bash -s` on this machine,
// with HOME (and TMPDIR) in a temporary directory: a stand-in host for the
// layer kinds that need neither apt nor root. It counts what it runs.
type localRunner struct {
	home, tmp string
	user      string

	mu         sync.Mutex
	runs       []string // scripts passed to Run
	captures   int
	reconnects int
}

func newLocalRunner(t *testing.T) *localRunner {
	t.Helper()
	dir := t.TempDir()
	r := &localRunner{home: filepath.Join(dir, "home"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{r.home, r.tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.user = "root"
	if u, err := user.Current(); err == nil {
		r.user = u.Username
	}
	return r
}

func (r *localRunner) command(ctx context.Context, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-s")
	cmd.Dir = r.home
	// No proxy variables: downloads go straight to the loopback server.
	cmd.Env = []string{"HOME=" + r.home, "TMPDIR=" + r.tmp, "PATH=" + os.Getenv("PATH"), "LANG=C", "USER=" + r.user}
	cmd.Stdin = strings.NewReader(script)
	return cmd
}

func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

func (r *localRunner) Run(ctx context.Context, script string, output func(Stream, string)) (int, error) {
	r.mu.Lock()
	r.runs = append(r.runs, script)
	r.mu.Unlock()
	cmd := r.command(ctx, script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	read := func(rd io.Reader, s Stream) {
		defer wg.Done()
		sc := bufio.NewScanner(rd)
		for sc.Scan() {
			mu.Lock()
			output(s, sc.Text())
			mu.Unlock()
		}
	}
	wg.Add(2)
	go read(stdout, Stdout)
	go read(stderr, Stderr)
	wg.Wait()
	return exitCode(cmd.Wait())
}

func (r *localRunner) Capture(ctx context.Context, script string) ([]byte, []byte, int, error) {
	r.mu.Lock()
	r.captures++
	r.mu.Unlock()
	cmd := r.command(ctx, script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code, err := exitCode(cmd.Run())
	return stdout.Bytes(), stderr.Bytes(), code, err
}

func (r *localRunner) Reconnect(context.Context) error {
	r.mu.Lock()
	r.reconnects++
	r.mu.Unlock()
	return nil
}

func (r *localRunner) User() string { return r.user }

// path returns the local path of a file in the runner's home ("~/x").
func (r *localRunner) path(p string) string {
	return filepath.Join(r.home, strings.TrimPrefix(p, "~/"))
}

// sh runs a command in the runner's environment and returns its output.
func (r *localRunner) sh(t *testing.T, command string) string {
	t.Helper()
	out, errOut, code, err := r.Capture(context.Background(), command)
	if err != nil || code != 0 {
		t.Fatalf("%s: exit %d, %v: %s%s", command, code, err, out, errOut)
	}
	r.mu.Lock()
	r.captures--
	r.mu.Unlock()
	return string(out)
}

// events records the callbacks of a converge.
type events struct {
	mu      sync.Mutex
	output  map[string][]string
	done    []string
	removed []string
}

func (e *events) request(layers []providers.Layer, remove []providers.LayerRecord) providers.ConvergeRequest {
	e.output = map[string][]string{}
	return providers.ConvergeRequest{
		Layers: layers,
		Remove: remove,
		Output: func(l addrs.Layer, line string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.output[l.Name] = append(e.output[l.Name], line)
		},
		Done:    func(l addrs.Layer) { e.done = append(e.done, l.Name) },
		Removed: func(l addrs.Layer) { e.removed = append(e.removed, l.Name) },
	}
}

func (e *events) text(name string) string { return strings.Join(e.output[name], "\n") }
