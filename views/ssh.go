package views

import (
	"fmt"
	"io"
)

// SSHNotices are what mlops ssh says besides the remote session's own
// output: on stderr, prefixed "mlops", so that they stay apart from the
// remote command's stdout; the forwards' URLs go to stdout.
type SSHNotices struct{ streams *Streams }

// NewSSHNotices writes to s.
func NewSSHNotices(s *Streams) SSHNotices { return SSHNotices{s} }

// Waking: a stopped instance with wake = true is being started.
func (n SSHNotices) Waking(addr fmt.Stringer) {
	fmt.Fprintf(n.streams.Err, "mlops: %s is stopped; starting it (ssh { wake = true })\n", addr)
}

// WakeProgress is one step of starting addr.
func (n SSHNotices) WakeProgress(addr fmt.Stringer, msg string) {
	fmt.Fprintf(n.streams.Err, "mlops: %s: %s\n", addr, msg)
}

// HostKeyAccepted: no key was pinned for addr; key was accepted and pinned.
func (n SSHNotices) HostKeyAccepted(addr fmt.Stringer, key string) {
	fmt.Fprintf(n.streams.Err, "mlops: no host key was pinned for %s yet; accepted %s\n", addr, key)
}

// ExecFailed: the remote session failed; after a terminal session the
// cursor is first brought back to the start of a line.
func (n SSHNotices) ExecFailed(err error, hadTerminal bool) {
	if hadTerminal {
		fmt.Fprint(n.streams.Err, "\r\n")
	}
	fmt.Fprintf(n.streams.Err, "mlops ssh: %v\n", err)
}

// Forward is one forward held open: its local URL and where it leads.
func (n SSHNotices) Forward(name string, local fmt.Stringer, remote string, addr fmt.Stringer) {
	fmt.Fprintf(n.streams.Out, "%s: http://%s -> %s on %s\n", name, local, remote, addr)
}

// ForwardFailed: one forwarded connection could not reach its remote end.
func (n SSHNotices) ForwardFailed(name string, err error) {
	fmt.Fprintf(n.streams.Err, "mlops ssh: %s: %v\n", name, err)
}

// Forwarding: every forward is open.
func (n SSHNotices) Forwarding() {
	fmt.Fprintln(n.streams.Out, "Forwarding; press Ctrl-C to stop.")
}

// RenderStateMigrated says that a local state moved into the configured
// backend (or already matched it), and where the local file was kept.
func RenderStateMigrated(w io.Writer, upToDate bool, from, to, kept string) {
	if upToDate {
		fmt.Fprintf(w, "The state in %s already matches %s; kept the local file as %s.\n", to, from, kept)
		return
	}
	fmt.Fprintf(w, "Migrated the state from %s to %s; kept the local file as %s.\n", from, to, kept)
}
