package host

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/mlops-dev/mlops/providers"
	"golang.org/x/crypto/ssh"
)

// ownKeyNames are the private keys of the user's own that ChooseKeyFile
// tries, in this order, in ~/.ssh: the names ssh-keygen gives by default.
var ownKeyNames = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// ChooseKeyFile returns the private key file to log in to target with. On
// a team, the ssh block names one member's key (private_key =
// aws_key_pair.x.private_key_file) that the others do not have; each
// member gets in with a key of their own that authorized_keys lets in.
// The rule, in order:
//
//  1. the ssh block's private_key, when that file exists here;
//  2. else the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa whose public
//     key (its .pub file, or derived from the private key) is one of the
//     ssh block's authorized_keys;
//  3. else no file (""), when an ssh-agent runs: the agent offers its keys;
//  4. else the ssh block's private_key as it is, so that the error names
//     the missing file.
func (h *Hosts) ChooseKeyFile(target providers.SSHTarget) string {
	path := target.PrivateKeyFile
	if path != "" {
		if _, err := h.opts.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return path
		}
	}
	if h.opts.Home != "" && len(target.AuthorizedKeys) > 0 {
		authorized := map[string]bool{}
		for _, k := range target.AuthorizedKeys {
			if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err == nil {
				authorized[string(pk.Marshal())] = true
			}
		}
		for _, name := range ownKeyNames {
			own := filepath.Join(h.opts.Home, ".ssh", name)
			if pk := h.publicKeyOf(own); pk != nil && authorized[string(pk.Marshal())] {
				h.opts.Log("using %s: its public key is in authorized_keys", own)
				return own
			}
		}
	}
	if path == "" || h.opts.AgentSocket != "" {
		return ""
	}
	return path
}

// publicKeyOf returns the public key of a private key file: from its .pub
// file, or parsed from the key itself when it is not encrypted; nil when
// neither works.
func (h *Hosts) publicKeyOf(path string) ssh.PublicKey {
	if _, err := h.opts.Stat(path); err != nil {
		return nil
	}
	if b, err := h.opts.ReadFile(path + ".pub"); err == nil {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey(bytes.TrimSpace(b)); err == nil {
			return pk
		}
	}
	b, err := h.opts.ReadFile(path)
	if err != nil {
		return nil
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) && missing.PublicKey != nil {
			return missing.PublicKey
		}
		return nil
	}
	return signer.PublicKey()
}

// authorizedOwnKeys returns the user's own keys (ownKeyNames) that are in
// target's authorized_keys, other than chosen, unencrypted: offered after
// the chosen key. When the key pair's key changes (a new private_key_file,
// listed in authorized_keys through public_key_openssh), the host does not
// trust the new key until an apply writes it; the member's own authorized
// key gets that apply in.
func (h *Hosts) authorizedOwnKeys(target providers.SSHTarget, chosen string) ([]ssh.Signer, []string) {
	if h.opts.Home == "" || len(target.AuthorizedKeys) == 0 {
		return nil, nil
	}
	authorized := map[string]bool{}
	for _, k := range target.AuthorizedKeys {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err == nil {
			authorized[string(pk.Marshal())] = true
		}
	}
	var signers []ssh.Signer
	var paths []string
	for _, name := range ownKeyNames {
		path := filepath.Join(h.opts.Home, ".ssh", name)
		if path == chosen {
			continue
		}
		fi, err := h.opts.Stat(path)
		if err != nil || fi.Mode().Perm()&0o077 != 0 {
			continue
		}
		b, err := h.opts.ReadFile(path)
		if err != nil {
			continue
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil || !authorized[string(signer.PublicKey().Marshal())] {
			continue
		}
		signers = append(signers, signer)
		paths = append(paths, path)
	}
	return signers, paths
}
