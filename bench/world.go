package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/command"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/views"
)

// world is the test world of one bench run: a moto server, a counting proxy
// in front of it for the binary, the built binary and a scratch directory.
// Sandbox hosts are started by the scenario that needs them.
type world struct {
	root string // repository root
	tmp  string // scratch directory, removed at the end
	logf func(string, ...any)

	moto *testworld.Moto
	// inproc counts the EC2 calls of in-process runs (the client injected
	// through command.Deps); proxy counts those of the binary, which reaches
	// moto through proxyURL.
	inproc *testworld.CountingClient
	proxy  *testworld.CountingClient
	// inprocTimer and proxyTimer record when EC2 requests were in flight.
	inprocTimer, proxyTimer *apiTimer
	proxyURL                string
	proxySrv                *http.Server
	admin                   *testworld.CountingClient // moto resets, not counted anywhere

	bin string // built mlops binary, "" without -binary

	stops []func()
}

func startWorld(o options, logf func(string, ...any)) (*world, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	w := &world{root: root, logf: logf, inproc: testworld.NewCountingClient(),
		proxy: testworld.NewCountingClient(), admin: testworld.NewCountingClient()}
	w.inprocTimer, w.proxyTimer = &apiTimer{next: w.inproc}, &apiTimer{next: w.proxy}
	// moto_server is found from the working directory; run from anywhere.
	if err := os.Chdir(root); err != nil {
		return nil, err
	}
	if w.tmp, err = os.MkdirTemp("", "mlops-bench-"); err != nil {
		return nil, err
	}
	w.stops = append(w.stops, func() { os.RemoveAll(w.tmp) })
	if o.binary {
		w.bin = filepath.Join(w.tmp, "mlops")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", w.bin, "./cmd/mlops")
		cmd.Dir = root
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			w.stop()
			return nil, fmt.Errorf("building mlops: %v", err)
		}
		logf("built %s in %v", w.bin, time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	if w.moto, err = testworld.StartMotoServer(); err != nil {
		w.stop()
		return nil, err
	}
	w.stops = append(w.stops, w.moto.Stop)
	logf("moto on %s in %v", w.moto.Endpoint(), time.Since(start).Round(time.Millisecond))
	if err := w.startProxy(); err != nil {
		w.stop()
		return nil, err
	}
	return w, nil
}

// startProxy puts a counting reverse proxy in front of moto, on loopback,
// for the binary: the only way to count the API calls of another process.
func (w *world) startProxy() error {
	target, err := url.Parse(w.moto.Endpoint())
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		Transport: w.proxyTimer,
	}
	w.proxySrv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go w.proxySrv.Serve(l)
	w.proxyURL = "http://" + l.Addr().String()
	w.stops = append(w.stops, func() { w.proxySrv.Close() })
	return nil
}

// stop stops everything, in reverse order of starting.
func (w *world) stop() {
	for i := len(w.stops) - 1; i >= 0; i-- {
		w.stops[i]()
	}
	w.stops = nil
}

// resetMoto forgets every AWS resource.
func (w *world) resetMoto() error {
	req, err := http.NewRequest(http.MethodPost, w.moto.Endpoint()+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := w.admin.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: HTTP %s", resp.Status)
	}
	return nil
}

// mode is how mlops is run.
type mode string

const (
	// inProcess calls command.Main with an injected counting HTTP client:
	// no process start, and package-level caches stay warm between runs.
	inProcess mode = "in-process"
	// binary runs the built mlops binary, as a user would: process start
	// and package initialisation included.
	binary mode = "binary"
)

func (w *world) modes() []mode {
	if w.bin == "" {
		return []mode{inProcess}
	}
	return []mode{inProcess, binary}
}

// stack is one configuration directory with its own HOME and variables.
type stack struct {
	w    *world
	name string
	dir  string
	home string
	vars []string // extra environment, MLOPS_VAR_x=...
}

func (w *world) newStack(name string, files map[string]string) (*stack, error) {
	s := &stack{w: w, name: name, dir: filepath.Join(w.tmp, name), home: filepath.Join(w.tmp, name+"-home")}
	for _, d := range []string{s.dir, filepath.Join(s.home, ".ssh")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for n, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, n), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// env is the whole environment of a run: nothing of the caller's AWS
// settings, static credentials, loopback-only mode, the given endpoint.
func (s *stack) env(endpoint string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"NO_COLOR=1",
		"MLOPS_TEST_LOOPBACK_ONLY=1",
	}
	for _, kv := range s.w.moto.Env() {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			kv = "AWS_ENDPOINT_URL=" + endpoint
		}
		env = append(env, kv)
	}
	return append(env, s.vars...)
}

// result is one run of mlops.
type result struct {
	code           int
	stdout, stderr string
	wall           time.Duration
	calls          map[string]int // EC2 API calls by action
	api            time.Duration  // time with an EC2 request in flight
	apiParallel    int            // most EC2 requests in flight at once
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, tail(r.stdout, 4000), tail(r.stderr, 4000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// run runs `mlops -chdir=DIR args...` once and times it.
func (s *stack) run(m mode, args ...string) (result, error) {
	args = append([]string{"-chdir=" + s.dir}, args...)
	var r result
	var out, errb bytes.Buffer
	switch m {
	case inProcess:
		s.w.inproc.Reset()
		s.w.inprocTimer.reset()
		d := command.Deps{
			Streams:    &views.Streams{In: strings.NewReader(""), Out: &out, Err: &errb, Width: 100},
			Env:        s.env(s.w.moto.Endpoint()),
			Cwd:        s.dir,
			Now:        time.Now,
			HTTPClient: &http.Client{Transport: s.w.inprocTimer},
		}
		start := time.Now()
		r.code = command.Main(args, d)
		r.wall = time.Since(start)
		r.calls = s.w.inproc.Counts()
		r.api = s.w.inprocTimer.busy()
		r.apiParallel = s.w.inprocTimer.maxInFlight()
	case binary:
		s.w.proxy.Reset()
		s.w.proxyTimer.reset()
		cmd := exec.Command(s.w.bin, args...)
		cmd.Dir = s.dir
		cmd.Env = s.env(s.w.proxyURL)
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		r.wall = time.Since(start)
		r.calls = s.w.proxy.Counts()
		r.api = s.w.proxyTimer.busy()
		r.apiParallel = s.w.proxyTimer.maxInFlight()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			return r, fmt.Errorf("running mlops: %v", err)
		}
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r, nil
}

// must runs mlops and fails unless it exits with want.
func (s *stack) must(m mode, want int, args ...string) (result, error) {
	r, err := s.run(m, args...)
	if err != nil {
		return r, err
	}
	if r.code != want {
		return r, fmt.Errorf("%s: mlops %s (%s): want exit %d, got %s", s.name, strings.Join(args, " "), m, want, r)
	}
	return r, nil
}

// repoRoot is testworld's: the directory with go.mod at or above the
// working directory.
func repoRoot() (string, error) { return testworld.RepoRoot() }

func gitCommit() string {
	root, err := repoRoot()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}
