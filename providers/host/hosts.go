// Package host is the SSH transport for hosts: it implements providers.Hosts
// by opening one SSH connection per host (x/crypto/ssh) and handing it, as a
// layers.Runner, to the layer logic of package layers.
//
// The transport waits for a booting machine (connection refused, auth not
// ready yet), pins host keys (trust on first use, a changed key is fatal),
// runs every script as `bash -s` with the script on stdin, and never dials
// outside 127.0.0.0/8 in loopback-only mode.
package host

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/internal/ctxsleep"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
)

// Options configure the transport. The zero value of each field is a working
// default; tests inject the outside world through them.
type Options struct {
	// Dial opens TCP connections. Default: a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// LookupHost resolves host names (used in loopback-only mode, where the
	// name is resolved and checked before dialing). Default: net.DefaultResolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// LoopbackOnly refuses any address outside 127.0.0.0/8 before dialing.
	// Tests and the harness turn it on; the CLI sets it from
	// MLOPS_TEST_LOOPBACK_ONLY=1 (see OptionsFromEnv).
	LoopbackOnly bool
	// Sleep waits between connection attempts. Default: a timer that stops
	// early when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock that bounds the wait for SSH. Default: time.Now.
	Now func() time.Time
	// MinBackoff and MaxBackoff bound the exponential wait between
	// connection attempts. Default: 1s and 10s.
	MinBackoff, MaxBackoff time.Duration
	// KeepAlive is how often an idle connection is checked; a connection
	// that does not answer within the same time is closed, so a running
	// script fails instead of hanging. Default 15s; negative turns it off.
	KeepAlive time.Duration
	// AgentSocket is SSH_AUTH_SOCK; when set, the agent's keys are offered
	// after the private key file.
	AgentSocket string
	// NewSession builds the layer logic (probes, converge) over a Runner;
	// the transport supplies the session's HostKey and Close. Default:
	// layers.NewSession.
	NewSession func(r layers.Runner) providers.HostSession
	// LayerSchemas returns the layer kinds' schemas. Default: layers.Schemas.
	LayerSchemas func() map[string]*schema.Layer
	// Log receives progress messages ("waiting for SSH ..."). Default: discard.
	Log func(format string, args ...any)
	// ReadFile and Stat read the private key file. Default: os.ReadFile, os.Stat.
	ReadFile func(string) ([]byte, error)
	Stat     func(string) (fs.FileInfo, error)
	// KnownHostsFile is the user's known_hosts (OpenSSH format, hashed
	// names too), consulted for targets with KnownHosts set; "" = none.
	KnownHostsFile string
	// StrictHostKeys refuses every host whose key is pinned nowhere, as
	// the ssh block's strict_host_key does for one host
	// (MLOPS_STRICT_HOST_KEYS=1).
	StrictHostKeys bool
	// Home is the user's home directory, where ChooseKeyFile looks for
	// the user's own keys; "" looks nowhere.
	Home string
}

// OptionsFromEnv returns default options configured from the environment:
// SSH_AUTH_SOCK, MLOPS_TEST_LOOPBACK_ONLY=1, MLOPS_STRICT_HOST_KEYS=1 and
// HOME (for ~/.ssh/known_hosts).
func OptionsFromEnv(getenv func(string) string) Options {
	o := Options{
		AgentSocket:    getenv("SSH_AUTH_SOCK"),
		LoopbackOnly:   getenv("MLOPS_TEST_LOOPBACK_ONLY") == "1",
		StrictHostKeys: getenv("MLOPS_STRICT_HOST_KEYS") == "1",
		Home:           getenv("HOME"),
	}
	if home := getenv("HOME"); home != "" {
		o.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
	}
	return o
}

// Hosts implements providers.Hosts over SSH.
type Hosts struct {
	opts Options
}

var _ providers.Hosts = (*Hosts)(nil)

// New returns a transport with opts, defaults filled in.
func New(opts Options) *Hosts {
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.LookupHost == nil {
		opts.LookupHost = net.DefaultResolver.LookupHost
	}
	if opts.Sleep == nil {
		opts.Sleep = ctxsleep.Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.NewSession == nil {
		opts.NewSession = layers.NewSession
	}
	if opts.LayerSchemas == nil {
		opts.LayerSchemas = layers.Schemas
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Stat == nil {
		opts.Stat = os.Stat
	}
	return &Hosts{opts: opts}
}

// LayerSchemas returns the layer kinds' schemas (Options.LayerSchemas).
func (h *Hosts) LayerSchemas() map[string]*schema.Layer { return h.opts.LayerSchemas() }

// Open connects to target (see Dial) and returns a session running the
// layer logic over that one connection. Closing the session closes the
// connection.
func (h *Hosts) Open(ctx context.Context, target providers.SSHTarget, knownHostKey string) (providers.HostSession, hcl.Diagnostics) {
	conn, err := h.Dial(ctx, target, knownHostKey)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiagnostic(err)}
	}
	return &session{HostSession: h.opts.NewSession(conn), conn: conn}, nil
}

// errorDiagnostic turns a connection error into a diagnostic whose summary
// says what kind of failure it was.
func errorDiagnostic(err error) *hcl.Diagnostic {
	summary := "Cannot connect to host over SSH"
	var (
		mismatch *HostKeyMismatchError
		timeout  *TimeoutError
		refused  *NotLoopbackError
		keyErr   *KeyFileError
		unpinned *UnpinnedHostError
		algo     *HostKeyAlgorithmError
	)
	switch {
	case errors.As(err, &mismatch):
		summary = "Host key changed"
	case errors.As(err, &algo):
		summary = "Host key changed"
	case errors.As(err, &timeout):
		summary = "Timed out waiting for SSH"
	case errors.As(err, &refused):
		summary = "Address outside loopback refused"
	case errors.As(err, &keyErr):
		summary = "Unusable SSH private key"
	case errors.As(err, &unpinned):
		summary = "Host key not pinned"
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()}
}

// session is the layer logic's session with the transport's host key and
// connection lifetime.
type session struct {
	providers.HostSession
	conn *Conn
}

func (s *session) HostKey() string { return s.conn.HostKey() }

// RunScript implements providers.ScriptRunner over the session's connection.
func (s *session) RunScript(ctx context.Context, script string, output func(line string)) (int, error) {
	return s.conn.Run(ctx, script, func(_ layers.Stream, line string) { output(line) })
}

func (s *session) Close() error {
	err := s.HostSession.Close()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
