package aws

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// importableKeyType checks a public key against what EC2's ImportKeyPair
// accepts: RSA and ED25519 only (ECDSA and security keys are refused with
// InvalidKey.Format). It is a plain function of the key so that offline
// checks (config validation, mlops validate) can call it without a client.
func importableKeyType(pk ssh.PublicKey) error {
	switch pk.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA:
		return nil
	}
	return fmt.Errorf("EC2 imports only RSA and ED25519 keys, not %s: use an ssh-ed25519 key (ssh-keygen -t ed25519) or an ssh-rsa one", pk.Type())
}

// ImportableKeyFile reports whether the private key file at path (after ~
// expansion with home) holds a key EC2 can import; a missing file is fine
// (mlops generates an ed25519 key there). It reads only the local file.
func ImportableKeyFile(path, home string) error {
	p := New(Options{Env: []string{"HOME=" + home}})
	pk, err := p.readPublicKeyOfFile(path)
	if err != nil {
		return nil // missing or unreadable: reported where the file is used
	}
	if err := importableKeyType(pk); err != nil {
		return fmt.Errorf("private key file %s: %v", path, err)
	}
	return nil
}
