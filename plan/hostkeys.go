package plan

import (
	"net"
	"strconv"
	"sync"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
)

// Trust on first use, within one run and across a saved plan: the first
// contact with a host that has no pinned key (no host_key, nothing in the
// state) records the key it presented, by HostKeyID. Every later
// connection of the run demands that key (apply after its own plan phase),
// and `plan -out` saves the keys so that `apply PLANFILE` demands them too:
// whatever answers at apply must be the machine the plan looked at, before
// any file content is sent to it.

// hostKeyBook holds the keys seen at first contact in this run. Its zero
// value is ready to use; probes of several hosts run in parallel.
type hostKeyBook struct {
	mu   sync.Mutex
	keys map[string]string
}

// HostKeyID names a host for the keys seen: the resource and the address
// dialled. A new address (a replaced or restarted instance) is a new first
// contact.
func HostKeyID(addr addrs.Resource, t providers.SSHTarget) string {
	port := t.Port
	if port == 0 {
		port = 22
	}
	return addr.String() + "@" + net.JoinHostPort(t.Host, strconv.Itoa(port))
}

// hostTarget is the SSH target of a resource's host, with the key seen
// earlier in the run, and known_hosts consulted for existing machines (the
// `host` resource: its address is the user's own, unlike an EC2 public
// address that AWS hands to the next customer).
func (e *Engine) hostTarget(addr addrs.Resource, s config.SSHSettings) providers.SSHTarget {
	t := sshTarget(s)
	if cr := e.Config.Resources[addr.NoKey()]; cr != nil && cr.Schema != nil && cr.Schema.Existing {
		t.KnownHosts = true
	}
	e.seen.mu.Lock()
	t.SeenHostKey = e.seen.keys[HostKeyID(addr, t)]
	e.seen.mu.Unlock()
	return t
}

// HostTarget is hostTarget for commands that connect outside plan and apply
// (mlops ssh).
func (e *Engine) HostTarget(addr addrs.Resource, s config.SSHSettings) providers.SSHTarget {
	return e.hostTarget(addr, s)
}

// sawHostKey records the key a host presented when nothing pinned it (no
// host_key, no key in state).
func (e *Engine) sawHostKey(addr addrs.Resource, t providers.SSHTarget, knownKey, key string) {
	if key == "" || t.HostKey != "" || knownKey != "" {
		return
	}
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if e.seen.keys == nil {
		e.seen.keys = map[string]string{}
	}
	id := HostKeyID(addr, t)
	if _, ok := e.seen.keys[id]; !ok {
		e.seen.keys[id] = key
	}
}

// SeenHostKeys returns the keys seen at first contact so far, for a saved
// plan; nil when there were none.
func (e *Engine) SeenHostKeys() map[string]string {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if len(e.seen.keys) == 0 {
		return nil
	}
	out := make(map[string]string, len(e.seen.keys))
	for k, v := range e.seen.keys {
		out[k] = v
	}
	return out
}

// DemandHostKeys makes the keys a saved plan recorded the ones every
// connection of this run demands from those hosts (unless host_key or the
// state pins one).
func (e *Engine) DemandHostKeys(keys map[string]string) {
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if e.seen.keys == nil {
		e.seen.keys = map[string]string{}
	}
	for k, v := range keys {
		e.seen.keys[k] = v
	}
}
