package host

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnpinnedHostError: strict host key checking is on and no key is pinned
// for the host anywhere. It is refused before any connection.
type UnpinnedHostError struct {
	Addr       string
	KnownHosts bool // ~/.ssh/known_hosts was consulted
}

func (e *UnpinnedHostError) Error() string {
	where := "set host_key in the ssh block"
	if e.KnownHosts {
		where += " or add the host to ~/.ssh/known_hosts (ssh-keyscan)"
	}
	return fmt.Sprintf("no host key is pinned for %s and strict host key checking is on (strict_host_key or MLOPS_STRICT_HOST_KEYS=1): %s", e.Addr, where)
}

// probeKey is a key no known_hosts line names: checking it against the
// file makes knownhosts list the keys the file holds for a host.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// knownHostsPin looks addr ("host:port") up in the user's known_hosts and
// pins the key found there, preferring Ed25519 as OpenSSH does; no pin when
// the file or the host is not there. A file that does not parse is an
// error: mlops never falls back to trust on first use over a broken file.
func (h *Hosts) knownHostsPin(addr string) (hostKeyPin, error) {
	path := h.opts.KnownHostsFile
	if path == "" {
		return hostKeyPin{}, nil
	}
	if _, err := h.opts.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return hostKeyPin{}, nil
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		return hostKeyPin{}, fmt.Errorf("reading %s: %v", path, err)
	}
	// The remote address only adds a second name to look up; the port
	// keeps it from matching a plain-IP line of another host.
	err = cb(addr, &net.TCPAddr{IP: net.IPv4zero, Port: 0}, probeKey)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return hostKeyPin{}, nil
	}
	best := ke.Want[0].Key
	for _, k := range ke.Want {
		if k.Key.Type() == ssh.KeyAlgoED25519 {
			best = k.Key
			break
		}
	}
	return hostKeyPin{key: best, source: KeyFromKnownHosts}, nil
}
