package host

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/providers"
	"golang.org/x/crypto/ssh"
)

func writeTestKey(t *testing.T, path string, withPub bool) string {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spub, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub)))
	if withPub {
		os.WriteFile(path+".pub", []byte(line+" me@laptop\n"), 0o644)
	}
	return line
}

func TestChooseKeyFile(t *testing.T) {
	home := t.TempDir()
	h := New(Options{Home: home})
	configured := filepath.Join(home, ".ssh", "razer.pem")
	rsa := filepath.Join(home, ".ssh", "id_rsa")
	ed := filepath.Join(home, ".ssh", "id_ed25519")
	rsaPub := writeTestKey(t, rsa, false) // no .pub: derived from the key
	edPub := writeTestKey(t, ed, true)
	other := writeTestKey(t, filepath.Join(t.TempDir(), "k"), false)

	tests := []struct {
		name   string
		target providers.SSHTarget
		agent  bool
		want   string
	}{
		{"configured key missing, none authorized", providers.SSHTarget{PrivateKeyFile: configured, AuthorizedKeys: []string{other}}, false, configured},
		{"configured key missing, agent", providers.SSHTarget{PrivateKeyFile: configured, AuthorizedKeys: []string{other}}, true, ""},
		{"own ed25519 authorized", providers.SSHTarget{PrivateKeyFile: configured, AuthorizedKeys: []string{other, edPub + " alice"}}, false, ed},
		{"own rsa authorized (derived public key)", providers.SSHTarget{PrivateKeyFile: configured, AuthorizedKeys: []string{rsaPub}}, true, rsa},
		{"ed25519 comes first", providers.SSHTarget{AuthorizedKeys: []string{rsaPub, edPub}}, false, ed},
		{"no authorized_keys: agent only", providers.SSHTarget{}, true, ""},
	}
	for _, tt := range tests {
		h.opts.AgentSocket = ""
		if tt.agent {
			h.opts.AgentSocket = "/nonexistent/agent.sock"
		}
		if got := h.ChooseKeyFile(tt.target); got != tt.want {
			t.Errorf("%s: ChooseKeyFile = %q, want %q", tt.name, got, tt.want)
		}
	}
	writeTestKey(t, configured, false)
	if got := h.ChooseKeyFile(providers.SSHTarget{PrivateKeyFile: configured, AuthorizedKeys: []string{edPub}}); got != configured {
		t.Errorf("an existing private_key comes first: got %q", got)
	}
}
