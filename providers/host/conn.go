package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

const (
	defaultTimeout = 5 * time.Minute
	// settledWait bounds the wait for a machine that is not booting (see
	// providers.SSHTarget.Booting): long enough for a restarting sshd or
	// a lost packet, short enough that a host that is down says so.
	settledWait = 10 * time.Second
	// maxAttempt bounds one dial and handshake, so that a black-holed
	// address is retried rather than waited on for the whole timeout.
	maxAttempt = 20 * time.Second
	minAttempt = time.Second
	// remoteCommand is the only command line mlops ever sends: scripts go
	// on stdin, so they never show in process lists or logs and have no
	// length limit.
	remoteCommand = "bash -s"
)

// wrapScript makes bash read the whole script before running any of it: a
// brace group is parsed to its end first. Without it, bash -s reads its
// script from stdin as it goes, so a command that reads stdin (cat, ssh,
// a prompt) would swallow the rest of the script; with it, such a command
// reads end of file, and a syntax error anywhere means nothing ran. The
// leading ":;" keeps line numbers and allows an empty or comment-only
// script; the group's status is the script's.
func wrapScript(script string) string {
	return "{ :; " + script + "\n}\n"
}

// Conn is one SSH connection to a host. It implements layers.Runner: every
// Run and Capture is one SSH session (channel) on this connection.
type Conn struct {
	hosts  *Hosts
	target providers.SSHTarget
	addr   string // host:port as configured, for messages
	keys   keySource

	mu        sync.Mutex
	client    *ssh.Client
	stopAlive chan struct{}
	hostKey   ssh.PublicKey
	pin       hostKeyPin
	closed    bool
}

var _ layers.Runner = (*Conn)(nil)

type hostKeyPin struct {
	key    ssh.PublicKey // nil: trust on first use
	source HostKeySource
}

// Dial connects to target and logs in, waiting for the host up to
// target.Timeout (default 5 minutes): refused connections, timeouts and
// failed logins are retried with exponential backoff; a changed host key,
// an unusable key file or (in loopback-only mode) an address outside
// 127.0.0.0/8 fail at once. The host key is checked against
// target.HostKey if set, else knownHostKey if set, else accepted and
// returned by HostKey.
func (h *Hosts) Dial(ctx context.Context, target providers.SSHTarget, knownHostKey string) (*Conn, error) {
	if target.Port == 0 {
		target.Port = 22
	}
	if target.Timeout <= 0 {
		target.Timeout = defaultTimeout
	}
	if !target.Booting {
		target.Timeout = min(target.Timeout, settledWait)
	}
	c := &Conn{hosts: h, target: target, addr: net.JoinHostPort(target.Host, strconv.Itoa(target.Port))}
	if target.Host == "" {
		return nil, errors.New("ssh: no host to connect to")
	}
	if target.User == "" {
		return nil, fmt.Errorf("ssh %s: no user to log in as", c.addr)
	}
	var err error
	switch {
	case target.HostKey != "":
		c.pin, err = parsePin(target.HostKey, KeyFromConfig)
	case knownHostKey != "":
		c.pin, err = parsePin(knownHostKey, KeyFromState)
	}
	if err == nil && c.pin.key == nil && target.KnownHosts {
		c.pin, err = h.knownHostsPin(c.addr)
	}
	if err == nil && c.pin.key == nil && target.SeenHostKey != "" {
		c.pin, err = parsePin(target.SeenHostKey, KeyFromPlan)
	}
	if err != nil {
		return nil, err
	}
	// Strict mode trusts only keys pinned on purpose: a key first seen in
	// this run (or by the saved plan) is still trust on first use.
	if (c.pin.key == nil || c.pin.source == KeyFromPlan) && (target.StrictHostKey || h.opts.StrictHostKeys) {
		return nil, &UnpinnedHostError{Addr: c.addr, KnownHosts: target.KnownHosts}
	}
	if c.keys, err = h.loadKeyFile(h.ChooseKeyFile(target)); err != nil {
		return nil, err
	}
	c.keys.extra, c.keys.extraPaths = h.authorizedOwnKeys(target, c.keys.path)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func parsePin(s string, source HostKeySource) (hostKeyPin, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		// Also accept a known_hosts line ("host ssh-ed25519 AAAA...").
		if _, _, k, _, _, kerr := ssh.ParseKnownHosts([]byte(s)); kerr == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		return hostKeyPin{}, fmt.Errorf("invalid host key %q (%s): %v", s, source, err)
	}
	return hostKeyPin{key: key, source: source}, nil
}

// HostKey is the host's public key in authorized_keys format, as verified.
func (c *Conn) HostKey() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hostKey == nil {
		return ""
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c.hostKey)))
}

// User is the remote user name.
func (c *Conn) User() string { return c.target.User }

// Close closes the connection; later Runs fail. It is safe to call twice.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.dropLocked()
}

func (c *Conn) dropLocked() error {
	if c.client == nil {
		return nil
	}
	close(c.stopAlive)
	err := c.client.Close()
	c.client, c.stopAlive = nil, nil
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Reconnect closes the connection and opens a new one (waiting for the host
// as Dial does), so that a new login sees changed group membership. The new
// connection must present the same host key.
func (c *Conn) Reconnect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("ssh: reconnect on a closed connection")
	}
	c.dropLocked()
	c.mu.Unlock()
	return c.connect(ctx)
}

// connect waits for the host and installs the new client.
func (c *Conn) connect(ctx context.Context) error {
	o := &c.hosts.opts
	start := o.Now()
	deadline := start.Add(c.target.Timeout)
	backoff := o.MinBackoff
	var last error
	for attempt := 1; ; attempt++ {
		// Even the last attempt gets a moment: a loopback or LAN handshake
		// takes milliseconds, and a zero budget would only hide the
		// informative error of the attempts before.
		budget := min(max(deadline.Sub(o.Now()), min(c.target.Timeout, minAttempt)), maxAttempt)
		client, key, err := c.dialOnce(ctx, budget)
		if err == nil {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.closed {
				client.Close()
				return errors.New("ssh: connection closed while connecting")
			}
			c.client, c.hostKey = client, key
			if c.pin.key == nil {
				// Later reconnects must see the same key.
				c.pin = hostKeyPin{key: key, source: KeyFromSession}
			}
			c.stopAlive = make(chan struct{})
			if o.KeepAlive > 0 {
				go keepAlive(client, o.KeepAlive, c.stopAlive)
			}
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for SSH on %s: %w (last error: %v)", c.addr, ctx.Err(), err)
		}
		var slow attemptTimeout
		if last == nil || !errors.As(err, &slow) {
			last = err
		}
		remaining := deadline.Sub(o.Now())
		if remaining <= 0 {
			break
		}
		wait := min(backoff, remaining)
		c.progress("waiting for SSH on %s (attempt %d, %s): %v; retrying in %v", c.addr, attempt, c.waitingFor(o.Now().Sub(start)), err, wait.Round(time.Millisecond))
		if err := o.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("waiting for SSH on %s: %w (last error: %v)", c.addr, err, last)
		}
		backoff = min(backoff*2, o.MaxBackoff)
	}
	return &TimeoutError{Addr: c.addr, Timeout: c.target.Timeout, Last: last, NotBooting: !c.target.Booting}
}

// progress reports a wait through the target's Progress (the caller's
// view) when set, else the transport's Log.
func (c *Conn) progress(format string, args ...any) {
	if c.target.Progress != nil {
		c.target.Progress(fmt.Sprintf(format, args...))
		return
	}
	c.hosts.opts.Log(format, args...)
}

// waitingFor says what the wait is for and how long it may last.
func (c *Conn) waitingFor(elapsed time.Duration) string {
	what := "up to %v for the machine to boot"
	if !c.target.Booting {
		what = "up to %v: the machine should be up already"
	}
	return fmt.Sprintf(what+", %v so far", c.target.Timeout, elapsed.Round(time.Second))
}

// dialOnce makes one attempt: resolve, dial, handshake, log in.
func (c *Conn) dialOnce(ctx context.Context, budget time.Duration) (*ssh.Client, ssh.PublicKey, error) {
	o := &c.hosts.opts
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	dialAddr, err := c.hosts.resolve(ctx, c.target.Host, c.target.Port)
	if err != nil {
		return nil, nil, err
	}
	signers, offered, closeAgent := c.keys.signers(o)
	defer closeAgent()
	if len(signers) == 0 {
		return nil, nil, permanent{&KeyFileError{Path: c.target.PrivateKeyFile,
			Msg: fmt.Sprintf("no SSH key to log in to %s with: no private_key_file and no keys in ssh-agent", c.addr)}}
	}

	netConn, err := o.Dial(ctx, "tcp", dialAddr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, attemptTimeout{fmt.Errorf("no TCP connection within %v: %w", budget.Round(time.Millisecond), err)}
		}
		return nil, nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		netConn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { netConn.Close() })

	var seen ssh.PublicKey
	var mismatch *HostKeyMismatchError
	config := &ssh.ClientConfig{
		User: c.target.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil })},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = key
			if c.pin.key != nil && !bytes.Equal(key.Marshal(), c.pin.key.Marshal()) {
				mismatch = &HostKeyMismatchError{
					Addr:     c.addr,
					Expected: ssh.FingerprintSHA256(c.pin.key),
					Got:      ssh.FingerprintSHA256(key),
					GotKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
					Source:   c.pin.source,
				}
				return mismatch
			}
			return nil
		},
		HostKeyAlgorithms: hostKeyAlgorithms(c.pin.key),
		ClientVersion:     "SSH-2.0-mlops",
	}
	sshConn, chans, reqs, err := ssh.NewClientConn(netConn, c.addr, config)
	if !stop() {
		// The context ended during the handshake and closed the connection.
		if err == nil {
			sshConn.Close()
		}
		if ctx.Err() != nil && err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		netConn.Close()
		var negotiation *ssh.AlgorithmNegotiationError
		switch {
		case mismatch != nil:
			return nil, nil, permanent{mismatch}
		case c.pin.key != nil && errors.As(err, &negotiation) && negotiation.What == "host key":
			// The host no longer has a key of the pinned kind: no retry
			// can change that, so say which kind at once.
			return nil, nil, permanent{&HostKeyAlgorithmError{Addr: c.addr, Pinned: c.pin.key.Type(),
				Fingerprint: ssh.FingerprintSHA256(c.pin.key), Source: c.pin.source, Offered: negotiation.RequestedAlgorithms}}
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, nil, &AuthError{Addr: c.addr, User: c.target.User, Keys: offered, Err: err}
		case ctx.Err() != nil || isTimeout(err):
			return nil, nil, attemptTimeout{fmt.Errorf("no SSH handshake within %v: %w", budget.Round(time.Millisecond), err)}
		}
		return nil, nil, err
	}
	netConn.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), seen, nil
}

// attemptTimeout: one attempt ran out of its time budget.
type attemptTimeout struct{ err error }

func (a attemptTimeout) Error() string { return a.err.Error() }
func (a attemptTimeout) Unwrap() error { return a.err }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hostKeyAlgorithms asks for the pinned key's algorithm, so that a host
// with several keys (RSA, ECDSA, Ed25519) presents the pinned one. Without
// a pin it prefers Ed25519, as OpenSSH does.
func hostKeyAlgorithms(pin ssh.PublicKey) []string {
	if pin == nil {
		return []string{
			ssh.KeyAlgoED25519,
			ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		}
	}
	if pin.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{pin.Type()}
}

// resolve returns the address to dial. In loopback-only mode it resolves
// names itself and returns a literal 127.0.0.0/8 address, or refuses.
func (h *Hosts) resolve(ctx context.Context, host string, port int) (string, error) {
	p := strconv.Itoa(port)
	if !h.opts.LoopbackOnly {
		return net.JoinHostPort(host, p), nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if !isLoopback4(ip) {
			return "", permanent{&NotLoopbackError{Host: host}}
		}
		return net.JoinHostPort(ip.String(), p), nil
	}
	addrs, err := h.opts.LookupHost(ctx, host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && isLoopback4(ip) {
			return net.JoinHostPort(ip.String(), p), nil
		}
	}
	return "", permanent{&NotLoopbackError{Host: host, Addresses: addrs}}
}

func isLoopback4(ip net.IP) bool {
	ip4 := ip.To4()
	return ip4 != nil && ip4[0] == 127
}

// Run runs script with `bash -s` (see wrapScript) on a new session of the connection,
// delivering output lines (without their line ends) as they arrive, one
// call at a time. A non-zero exit is not an error; a lost connection is.
// When ctx ends, the remote process group is killed and the session closed.
func (c *Conn) Run(ctx context.Context, script string, output func(s layers.Stream, line string)) (int, error) {
	sess, err := c.newSession()
	if err != nil {
		return -1, err
	}
	defer sess.Close()
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return -1, err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return -1, err
	}
	sess.Stdin = strings.NewReader(wrapScript(script))
	stop := context.AfterFunc(ctx, func() { cancelSession(sess) })
	defer stop()
	if err := sess.Start(remoteCommand); err != nil {
		return -1, c.transportError(ctx, err)
	}
	var mu sync.Mutex
	emit := func(s layers.Stream, line string) {
		if output == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		output(s, line)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); readLines(stdout, layers.Stdout, emit) }()
	go func() { defer wg.Done(); readLines(stderr, layers.Stderr, emit) }()
	wg.Wait()
	return c.exitStatus(ctx, sess.Wait())
}

// Capture runs script with `bash -s` (see wrapScript) and returns all of its output: one
// session, one round trip.
func (c *Conn) Capture(ctx context.Context, script string) (stdout, stderr []byte, exitCode int, err error) {
	sess, err := c.newSession()
	if err != nil {
		return nil, nil, -1, err
	}
	defer sess.Close()
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	sess.Stdin = strings.NewReader(wrapScript(script))
	stop := context.AfterFunc(ctx, func() { cancelSession(sess) })
	defer stop()
	code, err := c.exitStatus(ctx, sess.Run(remoteCommand))
	return out.Bytes(), errOut.Bytes(), code, err
}

func (c *Conn) newSession() (*ssh.Session, error) {
	c.mu.Lock()
	client := c.client
	c.mu.Unlock()
	if client == nil {
		return nil, fmt.Errorf("ssh %s: connection closed", c.addr)
	}
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: connection lost: %w", c.addr, err)
	}
	return sess, nil
}

// cancelSession kills the remote process group (OpenSSH honours signal
// requests) and closes the channel.
func cancelSession(sess *ssh.Session) {
	sess.Signal(ssh.SIGKILL)
	sess.Close()
}

// exitStatus maps a session's end to (exit code, transport error).
func (c *Conn) exitStatus(ctx context.Context, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("ssh %s: script cancelled: %w", c.addr, ctx.Err())
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		return exit.ExitStatus(), nil
	}
	return -1, c.transportError(ctx, err)
}

func (c *Conn) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ssh %s: script cancelled: %w", c.addr, ctx.Err())
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) || errors.Is(err, io.EOF) {
		return fmt.Errorf("ssh %s: connection lost while the script ran (no exit status received)", c.addr)
	}
	return fmt.Errorf("ssh %s: connection lost while the script ran: %w", c.addr, err)
}

// readLines splits r into lines, dropping "\n" and a "\r" before it; a last
// line without a line end is delivered too.
func readLines(r io.Reader, s layers.Stream, emit func(layers.Stream, string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = strings.TrimSuffix(line, "\n")
			line = strings.TrimSuffix(line, "\r")
			emit(s, line)
		}
		if err != nil {
			io.Copy(io.Discard, r)
			return
		}
	}
}

// keepAlive closes client when it stops answering, so that sessions on a
// dead connection fail instead of hanging.
func keepAlive(client *ssh.Client, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case <-stop:
			return
		case err := <-answered:
			if err != nil {
				client.Close()
				return
			}
		case <-time.After(every):
			client.Close()
			return
		}
	}
}

// keySource holds the parsed key file; agent keys are fetched per attempt.
type keySource struct {
	path   string
	signer ssh.Signer // nil: no key file, or encrypted (then the agent must have it)
	// extra are the user's own keys that authorized_keys lets in, offered
	// after the key file (see authorizedOwnKeys).
	extra      []ssh.Signer
	extraPaths []string
}

// loadKeyFile reads and checks the private key file once, before any
// network traffic. Like ssh, it refuses a key that others may read.
func (h *Hosts) loadKeyFile(path string) (keySource, error) {
	ks := keySource{path: path}
	if path == "" {
		if h.opts.AgentSocket == "" {
			return ks, &KeyFileError{Msg: "no private_key_file given and no ssh-agent (SSH_AUTH_SOCK) to log in with"}
		}
		return ks, nil
	}
	fi, err := h.opts.Stat(path)
	if err != nil {
		return ks, &KeyFileError{Path: path, Msg: fmt.Sprintf("private key file: %v", err)}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return ks, &KeyFileError{Path: path, Msg: fmt.Sprintf(
			"permissions %04o for %s are too open: a private key must not be accessible by others (chmod 600 %s)",
			perm, path, path)}
	}
	pem, err := h.opts.ReadFile(path)
	if err != nil {
		return ks, &KeyFileError{Path: path, Msg: fmt.Sprintf("private key file: %v", err)}
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var encrypted *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &encrypted):
		if h.opts.AgentSocket == "" {
			return ks, &KeyFileError{Path: path, Msg: fmt.Sprintf(
				"private key %s is protected by a passphrase and no ssh-agent is running; load it with ssh-add %s", path, path)}
		}
		h.opts.Log("private key %s has a passphrase; relying on ssh-agent", path)
		return ks, nil
	case err != nil:
		return ks, &KeyFileError{Path: path, Msg: fmt.Sprintf("private key %s: %v", path, err)}
	}
	ks.signer = signer
	return ks, nil
}

// signers returns the key file's signer and the agent's, a description of
// each for error messages, and a function that closes the agent connection
// (after the handshake).
func (ks keySource) signers(o *Options) ([]ssh.Signer, []string, func()) {
	var signers []ssh.Signer
	var offered []string
	if ks.signer != nil {
		signers = append(signers, ks.signer)
		offered = append(offered, "key "+ks.path)
	}
	for i, x := range ks.extra {
		signers = append(signers, x)
		offered = append(offered, "key "+ks.extraPaths[i])
	}
	closeAgent := func() {}
	if o.AgentSocket == "" {
		return signers, offered, closeAgent
	}
	conn, err := net.DialTimeout("unix", o.AgentSocket, 5*time.Second)
	if err != nil {
		o.Log("ssh-agent at %s: %v", o.AgentSocket, err)
		return signers, offered, closeAgent
	}
	agentSigners, err := agent.NewClient(conn).Signers()
	if err != nil {
		o.Log("ssh-agent at %s: %v", o.AgentSocket, err)
		conn.Close()
		return signers, offered, closeAgent
	}
	for _, s := range agentSigners {
		if ks.signer != nil && bytes.Equal(s.PublicKey().Marshal(), ks.signer.PublicKey().Marshal()) {
			continue
		}
		signers = append(signers, s)
		offered = append(offered, "agent key "+ssh.FingerprintSHA256(s.PublicKey()))
	}
	return signers, offered, func() { conn.Close() }
}
