package host_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"golang.org/x/crypto/ssh"
)

// TestPinnedAlgorithmNoLongerOfferedFailsAtOnce: the host key is pinned as
// ECDSA and the host now has only an Ed25519 key. The handshake can never
// succeed, so Dial fails at once naming the pinned algorithm and what the
// host offers (it used to retry for the whole 5-minute boot wait).
func TestPinnedAlgorithmNoLongerOfferedFailsAtOnce(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ssh.ServerConfig{NoClientAuth: true}
	srv.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ssh.NewServerConn(c, srv)
			}()
		}
	}()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pinned, _ := ssh.NewPublicKey(&ecKey.PublicKey)

	hs := newHosts(t, host.Options{})
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = hs.Dial(context.Background(), providers.SSHTarget{
		Host: "127.0.0.1", Port: port, User: "ubuntu", PrivateKeyFile: writeKey(t, 0o600),
		HostKey: string(ssh.MarshalAuthorizedKey(pinned)), Booting: true, Timeout: time.Minute,
	}, "")
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Dial took %v", el)
	}
	var algo *host.HostKeyAlgorithmError
	if !errors.As(err, &algo) {
		t.Fatalf("Dial = %v, want a HostKeyAlgorithmError", err)
	}
	for _, want := range []string{"pinned as ecdsa-sha2-nistp256", "offers no ecdsa-sha2-nistp256 key any more, only ssh-ed25519", ssh.FingerprintSHA256(pinned)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
