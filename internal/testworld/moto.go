package testworld

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// MotoRegion is the region the moto helpers configure (Env, tests).
const MotoRegion = "eu-west-1"

// motoAMIs replaces moto's default AMIs (MOTO_AMIS_PATH): Ubuntu jammy images
// under Canonical's owner id, an older one, an unrelated focal one and a
// look-alike under another owner, so that owner filters and newest-match
// selection are exercised.
//
//go:embed testdata/amis.json
var motoAMIs []byte

// Moto is a moto server (the AWS API stand-in) running on 127.0.0.1. It
// listens on loopback only and knows the AMIs of testdata/amis.json.
type Moto struct {
	endpoint string
	dir      string // temporary directory holding the AMI file
	log      *motoLog

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited

	stopOnce sync.Once
}

// StartMoto starts a moto server for one test and stops it when the test
// ends. Starting takes about two seconds; tests that can share a server use
// SharedMoto. A missing or broken moto_server fails the test with a message
// saying how to install it.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	m, err := startMoto()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// sharedMoto is the one moto server of a test binary that runs MotoMain. This
// is the only package-level mutable state of the harness: a TestMain cannot
// hand a value to the tests of its package any other way.
var sharedMoto struct {
	mu      sync.Mutex
	enabled bool
	moto    *Moto
	err     error
}

// MotoMain runs the tests of a package with one moto server that they share:
// it is started by the first test calling SharedMoto and stopped when all
// tests have run. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testworld.MotoMain(m)) }
func MotoMain(m *testing.M) int {
	sharedMoto.mu.Lock()
	sharedMoto.enabled = true
	sharedMoto.mu.Unlock()
	defer func() {
		sharedMoto.mu.Lock()
		defer sharedMoto.mu.Unlock()
		if sharedMoto.moto != nil {
			sharedMoto.moto.Stop()
		}
		sharedMoto.moto, sharedMoto.err, sharedMoto.enabled = nil, nil, false
	}()
	return m.Run()
}

// SharedMoto returns the moto server shared by the tests of the binary
// (see MotoMain), starting it on first use. Its state carries over between
// tests: call Reset first when a test needs a clean account, and do not run
// such tests in parallel. Without MotoMain it falls back to StartMoto.
func SharedMoto(t testing.TB) *Moto {
	t.Helper()
	sharedMoto.mu.Lock()
	defer sharedMoto.mu.Unlock()
	if !sharedMoto.enabled {
		return StartMoto(t)
	}
	if sharedMoto.moto == nil && sharedMoto.err == nil {
		sharedMoto.moto, sharedMoto.err = startMoto()
	}
	if sharedMoto.err != nil {
		t.Fatal(sharedMoto.err)
	}
	return sharedMoto.moto
}

// Endpoint is the server's base URL, http://127.0.0.1:PORT.
func (m *Moto) Endpoint() string { return m.endpoint }

// Env is the environment an AWS SDK client needs to talk to this server and
// to nothing else: static test credentials, the region, no instance metadata
// service, and the endpoint.
func (m *Moto) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + MotoRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + m.endpoint,
	}
}

// Reset forgets every resource of every account (POST /moto-api/reset).
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	resp, err := motoHTTP.Post(m.endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resetting moto: HTTP %s", resp.Status)
	}
}

// Stop kills the server and waits for it to exit. It is safe to call twice.
func (m *Moto) Stop() {
	m.stopOnce.Do(func() {
		if m.cmd != nil && m.cmd.Process != nil {
			_ = m.cmd.Process.Kill()
			<-m.done
		}
		if m.dir != "" {
			os.RemoveAll(m.dir)
		}
	})
}

// motoHTTP talks to the harness's own servers only.
var motoHTTP = &http.Client{Timeout: 10 * time.Second, Transport: motoLoopbackOnly{http.DefaultTransport}}

func startMoto() (*Moto, error) {
	bin, err := motoServerPath()
	if err != nil {
		return nil, err
	}
	var lastErr error
	// A free port can be taken by someone else between our probe and
	// moto's bind; try a few ports before giving up.
	for range 3 {
		m, err := launchMoto(bin)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if !errors.Is(err, errMotoExited) {
			break
		}
	}
	return nil, lastErr
}

// motoServerPath finds moto_server: $MLOPS_MOTO_SERVER, or .venv/bin/moto_server
// in the module root (the directory holding go.mod, found walking up).
func motoServerPath() (string, error) {
	if p := os.Getenv("MLOPS_MOTO_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("moto_server not found at MLOPS_MOTO_SERVER=%s: %v", p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("moto_server not found: no go.mod above the working directory; set MLOPS_MOTO_SERVER")
		}
		dir = parent
	}
	p := filepath.Join(dir, ".venv", "bin", "moto_server")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("moto_server not found at %s: run scripts/setup (python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.3') or set MLOPS_MOTO_SERVER", p)
	}
	return p, nil
}

var errMotoExited = errors.New("moto_server exited")

func launchMoto(bin string) (*Moto, error) {
	port, err := motoFreePort()
	if err != nil {
		return nil, fmt.Errorf("starting moto: %v", err)
	}
	dir, err := os.MkdirTemp("", "mlops-moto-")
	if err != nil {
		return nil, fmt.Errorf("starting moto: %v", err)
	}
	amis := filepath.Join(dir, "amis.json")
	if err := os.WriteFile(amis, motoAMIs, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting moto: %v", err)
	}
	m := &Moto{
		endpoint: fmt.Sprintf("http://127.0.0.1:%d", port),
		dir:      dir,
		log:      &motoLog{},
		done:     make(chan struct{}),
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(motoBaseEnv(), "MOTO_AMIS_PATH="+amis)
	cmd.Stdout = m.log
	cmd.Stderr = m.log
	// The server must not outlive the test binary, even when it dies of a
	// panic or a timeout: on Linux the kernel kills it when the thread that
	// started it exits. That thread is locked to the goroutine below, which
	// lives until the server exits.
	cmd.SysProcAttr = motoProcAttr()
	m.cmd = cmd
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(m.done)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(m.done)
	}()
	if err := <-started; err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting moto_server %s: %v", bin, err)
	}
	if err := m.waitReady(60 * time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// motoBaseEnv passes the process environment without AWS settings, so that
// moto does not pick up anything meant for a real account.
func motoBaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "MOTO_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (m *Moto) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-m.done:
			return fmt.Errorf("%w before it was ready; its output:\n%s", errMotoExited, m.log.tail(2000))
		default:
		}
		resp, err := motoHTTP.Get(m.endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moto_server did not answer on %s within %s: %v; its output:\n%s", m.endpoint, timeout, err, m.log.tail(2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func motoFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// motoLog collects a process's output for error messages.
type motoLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *motoLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *motoLog) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
