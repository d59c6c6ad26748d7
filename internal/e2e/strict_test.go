package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestECDSAKeyRefusedOffline: EC2 imports only RSA and ED25519 keys. An
// ECDSA public_key fails validate, and an ECDSA private_key_file fails
// plan, each with the file and line, before any API call.
func TestECDSAKeyRefusedOffline(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	s := newStack(t, map[string]string{"main.hcl": `provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" {
  name       = "k"
  public_key = "` + line + `"
}
`})
	endpoint, calls := countingListener(t)
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + endpoint}, "validate")
	if r.code != 1 {
		t.Fatalf("validate: want exit 1, got %s", r)
	}
	contains(t, r, "main.hcl:4", "EC2 imports only RSA and ED25519 keys, not ecdsa-sha2-nistp256")

	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "ec.pem"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "main.hcl"), []byte(`provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/ec.pem"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.runEnv([]string{"AWS_ENDPOINT_URL=" + endpoint}, "plan")
	if r.code != 1 {
		t.Fatalf("plan: want exit 1, got %s", r)
	}
	contains(t, r, "main.hcl:2", "EC2 imports only RSA and ED25519 keys")
	if n := calls.Load(); n != 0 {
		t.Errorf("%d API calls for a key EC2 would refuse", n)
	}
}
