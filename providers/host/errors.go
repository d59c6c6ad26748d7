package host

import (
	"fmt"
	"strings"
	"time"
)

// HostKeySource says where an expected host key came from.
type HostKeySource int

const (
	// KeyFromConfig: the ssh block's host_key.
	KeyFromConfig HostKeySource = iota + 1
	// KeyFromState: recorded in state at first contact.
	KeyFromState
	// KeyFromSession: seen when this connection was first opened (on Reconnect).
	KeyFromSession
	// KeyFromPlan: seen at the first contact of this run's plan, or recorded
	// in the saved plan being applied.
	KeyFromPlan
	// KeyFromKnownHosts: the user's ~/.ssh/known_hosts.
	KeyFromKnownHosts
)

func (s HostKeySource) String() string {
	switch s {
	case KeyFromConfig:
		return "host_key in the ssh block"
	case KeyFromState:
		return "recorded in state at first contact"
	case KeyFromSession:
		return "seen earlier in this session"
	case KeyFromPlan:
		return "seen at first contact when the plan was made"
	case KeyFromKnownHosts:
		return "recorded in ~/.ssh/known_hosts"
	}
	return "unknown"
}

// HostKeyMismatchError is fatal: the host presented a key other than the
// one expected. It is never retried.
type HostKeyMismatchError struct {
	Addr string // host:port as configured
	// Expected and Got are SHA256 fingerprints ("SHA256:...").
	Expected, Got string
	// GotKey is the presented key in authorized_keys format.
	GotKey string
	Source HostKeySource
}

func (e *HostKeyMismatchError) Error() string {
	var fix string
	switch e.Source {
	case KeyFromConfig:
		fix = "update host_key in the ssh block"
	case KeyFromPlan:
		fix = "make a new plan, which looks at the host again"
	case KeyFromKnownHosts:
		fix = "update its line in ~/.ssh/known_hosts (ssh-keygen -R HOST removes it)"
	case KeyFromState:
		fix = "forget the recorded key with `mlops state forget-host-key ADDRESS` (the resource address named above) so that the new one is pinned at the next contact"
	default:
		fix = "connect again"
	}
	return fmt.Sprintf("host key for %s changed: expected %s (%s), got %s; if the machine was rebuilt, %s; "+
		"otherwise someone may be intercepting the connection", e.Addr, e.Expected, e.Source, e.Got, fix)
}

// TimeoutError: the host did not accept SSH within the target's Timeout.
type TimeoutError struct {
	Addr    string
	Timeout time.Duration
	// Last is the error of the last attempt.
	Last error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %v waiting for SSH on %s: last error: %v", e.Timeout, e.Addr, e.Last)
}

func (e *TimeoutError) Unwrap() error { return e.Last }

// AuthError: the host rejected every key offered. While a machine boots
// this is expected (authorized_keys may not exist yet), so it is retried.
type AuthError struct {
	Addr, User string
	Keys       []string // what was offered: the key file, "agent key SHA256:..."
	Err        error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication as %s@%s failed with %s (authorized_keys may not be set up yet): %v",
		e.User, e.Addr, strings.Join(e.Keys, ", "), e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// NotLoopbackError: loopback-only mode refused an address before dialing.
type NotLoopbackError struct {
	Host      string
	Addresses []string // what the name resolved to, if it is a name
}

func (e *NotLoopbackError) Error() string {
	if len(e.Addresses) > 0 {
		return fmt.Sprintf("refusing to connect to %s (%s): loopback-only mode allows 127.0.0.0/8 only",
			e.Host, strings.Join(e.Addresses, ", "))
	}
	return fmt.Sprintf("refusing to connect to %s: loopback-only mode allows 127.0.0.0/8 only", e.Host)
}

// KeyFileError: the private key file cannot be used (too open, unreadable,
// encrypted without an agent, not a key).
type KeyFileError struct {
	Path string
	Msg  string
}

func (e *KeyFileError) Error() string { return e.Msg }

// permanent marks an error that no retry can fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }
