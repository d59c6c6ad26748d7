package aws

import (
	"strings"

	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// On a team that shares one state, the key pair's private_key_file exists
// only on the laptop of the member who created it. Generating a new key on
// every other laptop would replace the key pair at each member's apply,
// back and forth, while the instance trusts only the first key anyway. So
// a recorded key pair whose private key file is missing here is kept as it
// is, with a warning that says whose key it is and how to get in.

// recordedFingerprint is the public key fingerprint the state records for
// a key pair, "" when there is none (no prior, or EC2 did not say).
func recordedFingerprint(prior cty.Value) string {
	if prior.IsNull() || !prior.IsKnown() {
		return ""
	}
	v := getAttr(prior, "public_key_fingerprint")
	if !v.IsKnown() || v.IsNull() {
		return ""
	}
	return v.AsString()
}

// keepOthersKey is the warning of a plan that keeps a key pair whose
// private key file is not on this machine.
func keepOthersKey(addr, file, fingerprint string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning,
		Summary: addr + " holds a key that is not on this machine",
		Detail: fmt.Sprintf("The key pair holds the public key %s, whose private key (%s) was created on another machine; "+
			"mlops keeps the key pair as it is instead of replacing it with a new key. To log in to the hosts with your own key, "+
			"have your public key added to authorized_keys in the ssh block (mlops then uses ~/.ssh/id_ed25519, id_ecdsa or id_rsa, "+
			"whichever is authorized), or set private_key_file to your copy of that private key.", fingerprint, file)}
}

// publicKeyLine is a public key in authorized_keys format without comment,
// the form public_key_openssh holds whatever the source.
func publicKeyLine(pk ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

// plannedPublicKey is the planned public_key_openssh: that of public_key
// or of the private key file, the recorded one when the key pair is kept
// (fp equals the recorded fingerprint), unknown when a key is generated.
func (p *Provider) plannedPublicKey(cfg, prior cty.Value, fp cty.Value) cty.Value {
	if !fp.IsKnown() {
		return cty.UnknownVal(cty.String)
	}
	if isSet(cfg, "public_key") {
		if pk, err := parsePublicKey(getString(cfg, "public_key")); err == nil {
			return cty.StringVal(publicKeyLine(pk))
		}
	}
	if isSet(cfg, "private_key_file") {
		if pk, err := p.readPublicKeyOfFile(getString(cfg, "private_key_file")); err == nil {
			return cty.StringVal(publicKeyLine(pk))
		}
	}
	if fp.IsNull() || recordedFingerprint(prior) != fp.AsString() {
		return cty.UnknownVal(cty.String)
	}
	return conformTo(getAttr(prior, "public_key_openssh"), cty.String)
}

// remotePublicKey is public_key_openssh as EC2 describes the key pair, or
// the recorded one when EC2 does not return the public key.
func remotePublicKey(kp types.KeyPairInfo, prior cty.Value) cty.Value {
	if kp.PublicKey != nil {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*kp.PublicKey)); err == nil {
			return cty.StringVal(publicKeyLine(pk))
		}
	}
	return conformTo(getAttr(prior, "public_key_openssh"), cty.String)
}
