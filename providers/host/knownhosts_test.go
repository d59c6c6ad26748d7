package host

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlops-dev/mlops/providers"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newTestKey(t *testing.T) ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKnownHostsPin(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "known_hosts")
	k1, k2 := newTestKey(t), newTestKey(t)
	// A hashed entry (HashKnownHosts yes) for a non-standard port, a plain
	// one for port 22 of another address.
	lines := knownhosts.Line([]string{knownhosts.HashHostname("[127.0.0.7]:2222")}, k1) + "\n" +
		knownhosts.Line([]string{"127.0.0.8"}, k2) + "\n"
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	h := New(Options{KnownHostsFile: path})
	for addr, want := range map[string]ssh.PublicKey{"127.0.0.7:2222": k1, "127.0.0.8:22": k2, "127.0.0.7:22": nil, "127.0.0.9:22": nil} {
		pin, err := h.knownHostsPin(addr)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case want == nil && pin.key != nil:
			t.Errorf("%s: pinned a key known_hosts has not for it", addr)
		case want != nil && (pin.key == nil || string(pin.key.Marshal()) != string(want.Marshal()) || pin.source != KeyFromKnownHosts):
			t.Errorf("%s: pin %v", addr, pin)
		}
	}
	// No file: no pin, no error.
	if pin, err := New(Options{KnownHostsFile: filepath.Join(dir, "none")}).knownHostsPin("127.0.0.7:2222"); err != nil || pin.key != nil {
		t.Errorf("missing file: %v %v", pin, err)
	}
}

func TestStrictRefusesUnpinnedWithoutDialing(t *testing.T) {
	dialed := false
	h := New(Options{StrictHostKeys: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		dialed = true
		return nil, errors.New("no network here")
	}})
	var ue *UnpinnedHostError
	_, err := h.Dial(t.Context(), providers.SSHTarget{Host: "127.0.0.7", User: "u"}, "")
	if !errors.As(err, &ue) || dialed {
		t.Fatalf("got %v (dialed %v)", err, dialed)
	}
	// A key only seen at this run's first contact is not pinned on purpose.
	seen := knownhosts.Line(nil, newTestKey(t))[1:]
	_, err = h.Dial(t.Context(), providers.SSHTarget{Host: "127.0.0.7", User: "u", SeenHostKey: seen}, "")
	if !errors.As(err, &ue) || dialed {
		t.Fatalf("strict mode with a key seen at first contact: %v (dialed %v)", err, dialed)
	}
	// A key pinned in the state is enough, also in strict mode.
	_, err = h.Dial(t.Context(), providers.SSHTarget{Host: "127.0.0.7", User: "u"}, knownhosts.Line(nil, newTestKey(t))[1:])
	if errors.As(err, &ue) {
		t.Fatalf("a pinned host is refused as unpinned: %v", err)
	}
}
