package aws

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// A key pair's private key never leaves this machine: mlops imports the
// public key only. Neither state, diagnostics nor progress messages carry
// private key material; errors about a key file name the file, never its
// contents.

func (p *Provider) planKeyPair(req providers.PlanChangeRequest) providers.PlanChangeResponse {
	cfg, prior := req.Config, req.Prior
	var diags hcl.Diagnostics
	// The offline checks are validate's (validate.go); plan runs them too.
	if d := p.validateKeyPair(req.Addr, cfg); d.HasErrors() {
		return providers.PlanChangeResponse{Diagnostics: d}
	}
	fp := cty.UnknownVal(cty.String)
	switch {
	case isSet(cfg, "public_key"):
		pk, err := parsePublicKey(getString(cfg, "public_key"))
		if err != nil {
			return providers.PlanChangeResponse{Diagnostics: errorDiag("Invalid public key", "%s", err)}
		}
		fp = cty.StringVal(ssh.FingerprintSHA256(pk))
	case isSet(cfg, "private_key_file"):
		pk, err := p.readPublicKeyOfFile(getString(cfg, "private_key_file"))
		switch {
		case errors.Is(err, fs.ErrNotExist) && recordedFingerprint(prior) != "":
			// Someone else's key: keep the key pair rather than flip it to
			// a new key of ours (see keepOthersKey).
			fp = cty.StringVal(recordedFingerprint(prior))
			diags = append(diags, keepOthersKey(req.Addr.String(), getString(cfg, "private_key_file"), recordedFingerprint(prior)))
		case errors.Is(err, fs.ErrNotExist):
			// mlops generates the key at apply; its fingerprint is unknown until then.
		case err != nil:
			return providers.PlanChangeResponse{Diagnostics: errorDiag("Cannot use private key file", "%s", err)}
		case importableKeyType(pk) != nil:
			return providers.PlanChangeResponse{Diagnostics: errorDiag("Key type not supported by EC2",
				"private key file %s: %s", getString(cfg, "private_key_file"), importableKeyType(pk))}
		default:
			fp = cty.StringVal(ssh.FingerprintSHA256(pk))
		}
	}

	name := getAttr(cfg, "name")
	planned := withAttrs(cfg, map[string]cty.Value{
		"id":                     name,
		"key_pair_id":            cty.UnknownVal(cty.String),
		"fingerprint":            cty.UnknownVal(cty.String),
		"public_key_fingerprint": fp,
		"tags":                   plannedTags(prior, cfg),
		"public_key_openssh":     p.plannedPublicKey(cfg, prior, fp),
	})
	if prior.IsNull() {
		return providers.PlanChangeResponse{Planned: planned, Diagnostics: diags}
	}
	var replace []cty.Path
	for _, attr := range []string{"name", "public_key", "public_key_fingerprint"} {
		var differs bool
		if attr == "public_key_fingerprint" {
			// Unknown: the key is generated at apply, so the key pair must
			// be imported anew. A prior without fingerprint (EC2 did not
			// return the public key) cannot be compared: keep it.
			pfp := getAttr(prior, attr)
			differs = !fp.IsKnown() || (pfp.IsKnown() && !pfp.IsNull() && !fp.Equals(pfp).True())
		} else {
			differs = changed(prior, cfg, attr)
		}
		if differs {
			replace = append(replace, cty.GetAttrPath(attr))
		}
	}
	if len(replace) == 0 {
		planned = withAttrs(planned, map[string]cty.Value{
			"key_pair_id": getAttr(prior, "key_pair_id"),
			"fingerprint": getAttr(prior, "fingerprint"),
		})
	}
	return providers.PlanChangeResponse{Planned: planned, RequiresReplace: replace, Diagnostics: diags}
}

// keyPairResource is aws_key_pair's entry in the type table.
func (p *Provider) keyPairResource() resourceType {
	return resourceType{
		name: "aws_key_pair", schema: keyPairSchema, validate: p.validateKeyPair, plan: p.planKeyPair,
		create: p.createKeyPair, update: p.updateKeyPair, delete: p.deleteKeyPair,
		refresh: p.refreshKeyPairs, importID: p.importKeyPair,
	}
}

func (p *Provider) deleteKeyPair(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	name := getString(req.Prior, "name")
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: awssdk.String(name)}); err != nil && errorCode(err) != "InvalidKeyPair.NotFound" {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("deleting key pair "+name, err)}
	}
	return providers.ApplyChangeResponse{NewState: cty.NullVal(keyPairSchema().ImpliedType())}
}

// updateKeyPair only syncs tags: every other change replaces the key pair.
func (p *Provider) updateKeyPair(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	name := getString(req.Prior, "name")
	have := getStringMap(req.Prior, "tags")
	if err := syncTags(ctx, c, getString(req.Prior, "key_pair_id"), have, getStringMap(req.Config, "tags")); err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("tagging key pair "+name, err)}
	}
	return providers.ApplyChangeResponse{NewState: withAttrs(req.Planned, map[string]cty.Value{
		"key_pair_id": getAttr(req.Prior, "key_pair_id"),
		"fingerprint": getAttr(req.Prior, "fingerprint"),
	})}
}

func (p *Provider) createKeyPair(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	cfg := req.Config
	name := getString(cfg, "name")
	null := cty.NullVal(keyPairSchema().ImpliedType())
	pub, err := p.publicKeyFor(cfg, req.Addr.String(), req.Progress)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: errorDiag("Cannot prepare key pair "+name, "%s", err)}
	}
	fp := ssh.FingerprintSHA256(pub)

	// adopt looks for a key pair of this name tagged for this stack and
	// address: imported by an earlier run that did not record it, or by this
	// run although the answer was lost.
	adopt := func() (providers.ApplyChangeResponse, bool) {
		if filters := ownerFilters(req.Tags); filters != nil {
			out, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
				Filters:          append(filters, types.Filter{Name: awssdk.String("key-name"), Values: []string{name}}),
				IncludePublicKey: awssdk.Bool(true),
			})
			if err != nil {
				return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("looking for key pair "+name, err)}, true
			}
			for _, kp := range out.KeyPairs {
				if deref(kp.KeyName) != name || !hasOwnerTags(kp.Tags, req.Tags) {
					continue
				}
				if remoteFingerprint(kp) == fp {
					progress(req, "adopted existing key pair %s (%s) tagged for this address", name, deref(kp.KeyPairId))
					state := keyPairState(kp, req.Planned)
					if req.Created != nil {
						req.Created(state)
					}
					if err := syncTags(ctx, c, deref(kp.KeyPairId), userTags(kp.Tags), getStringMap(cfg, "tags")); err != nil {
						return providers.ApplyChangeResponse{NewState: state, Diagnostics: apiDiag("tagging key pair "+name, err)}, true
					}
					return providers.ApplyChangeResponse{NewState: withAttrs(state, map[string]cty.Value{"tags": getAttr(req.Planned, "tags")})}, true
				}
				// Ours, but holding another public key: replace it.
				progress(req, "replacing key pair %s tagged for this address: it holds another public key", name)
				if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: awssdk.String(name)}); err != nil {
					return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("deleting key pair "+name, err)}, true
				}
			}
		}
		return providers.ApplyChangeResponse{}, false
	}
	if resp, done := adopt(); done {
		return resp
	}

	out, err := c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName:           awssdk.String(name),
		PublicKeyMaterial: ssh.MarshalAuthorizedKey(pub),
		TagSpecifications: tagSpecs(createTags(req.Tags, getStringMap(cfg, "tags")), types.ResourceTypeKeyPair),
	})
	if err != nil {
		if errorCode(err) == "InvalidKeyPair.Duplicate" {
			// A retry of an import whose answer was lost finds its own key pair.
			if resp, done := adopt(); done {
				return resp
			}
		}
		d := apiDiag("importing key pair "+name, err)
		if errorCode(err) == "InvalidKeyPair.Duplicate" {
			d[0].Detail += fmt.Sprintf("\nA key pair named %q exists that this stack did not create: choose another name, or bring it under management with mlops import %s %s.", name, req.Addr, name)
		}
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: d}
	}
	state := withAttrs(req.Planned, map[string]cty.Value{
		"id":                     cty.StringVal(name),
		"key_pair_id":            cty.StringVal(deref(out.KeyPairId)),
		"fingerprint":            cty.StringVal(deref(out.KeyFingerprint)),
		"public_key_fingerprint": cty.StringVal(fp),
		"public_key_openssh":     cty.StringVal(publicKeyLine(pub)),
	})
	if req.Created != nil {
		req.Created(state)
	}
	return providers.ApplyChangeResponse{NewState: state}
}

// publicKeyFor returns the public key to import: public_key, the public half
// of private_key_file, or that of a new ed25519 key written to
// private_key_file.
func (p *Provider) publicKeyFor(cfg cty.Value, addr string, report func(string)) (ssh.PublicKey, error) {
	if isSet(cfg, "public_key") {
		return parsePublicKey(getString(cfg, "public_key"))
	}
	file := getString(cfg, "private_key_file")
	pk, err := p.readPublicKeyOfFile(file)
	if err == nil {
		if terr := importableKeyType(pk); terr != nil {
			return nil, fmt.Errorf("private key file %s: %v", file, terr)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return pk, err
	}
	path, err := p.expandHome(file)
	if err != nil {
		return nil, err
	}
	pk, err = generateKeyFile(path, "mlops "+addr)
	if err != nil {
		return nil, err
	}
	if report != nil {
		report(fmt.Sprintf("generated an ed25519 key in %s", path))
	}
	return pk, nil
}

// readPublicKeyOfFile parses a private key file and returns its public key.
// A missing file is an error wrapping fs.ErrNotExist.
func (p *Provider) readPublicKeyOfFile(file string) (ssh.PublicKey, error) {
	path, err := p.expandHome(file)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("private key file %s does not exist: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("reading private key file %s: %v", path, err)
	}
	key, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) && missing.PublicKey != nil {
			return missing.PublicKey, nil // an encrypted OpenSSH key carries its public key in clear
		}
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("private key file %s is encrypted: set public_key to its public key instead", path)
		}
		return nil, fmt.Errorf("private key file %s is not an OpenSSH or PEM private key: %s", path, safeKeyError(err))
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("private key file %s holds an unsupported key: %s", path, safeKeyError(err))
	}
	return signer.PublicKey(), nil
}

// safeKeyError keeps a parse error's text only when it is one of the
// library's fixed messages (it should never quote key bytes, but a key file
// is a secret, so be strict).
func safeKeyError(err error) string {
	s := err.Error()
	if len(s) > 120 || strings.ContainsAny(s, "\n") {
		return "cannot parse the key"
	}
	return s
}

// expandHome resolves a leading ~ with HOME from the injected environment,
// and a relative path against WorkDir.
func (p *Provider) expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		if strings.HasPrefix(path, "~") {
			return "", fmt.Errorf("%s: only ~ and ~/ are expanded (not ~user)", path)
		}
		if !filepath.IsAbs(path) && p.opts.WorkDir != "" {
			return filepath.Join(p.opts.WorkDir, path), nil
		}
		return path, nil
	}
	home := p.env["HOME"]
	if home == "" {
		return "", fmt.Errorf("%s: cannot expand ~ because HOME is not set", path)
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~")), nil
}

// generateKeyFile writes a new ed25519 private key to path (mode 0600,
// missing directories 0700) and returns its public key. It never
// overwrites a file: the key is written to a temporary file in the same
// directory and hard-linked into place, which fails if path exists.
func generateKeyFile(path, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating an ed25519 key: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encoding the new key: %v", err)
	}
	data := pem.EncodeToMemory(block)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %v", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".mlops-key-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("refusing to overwrite %s, which appeared while mlops was generating a key", path)
		}
		// No hard links here: create the file exclusively instead.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %v", path, err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing %s: %v", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("writing %s: %v", path, err)
		}
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the new key: %v", err)
	}
	return sshPub, nil
}

// remoteFingerprint is the SHA256 fingerprint of the public key EC2 holds,
// "" when EC2 did not return it.
func remoteFingerprint(kp types.KeyPairInfo) string {
	if kp.PublicKey == nil {
		return ""
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*kp.PublicKey))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pk)
}

// keyPairState builds the state of a key pair as EC2 describes it; the
// local settings (private_key_file, public_key) come from prior.
func keyPairState(kp types.KeyPairInfo, prior cty.Value) cty.Value {
	fp := stringOrNull(remoteFingerprint(kp))
	if fp.IsNull() {
		fp = conformTo(getAttr(prior, "public_key_fingerprint"), cty.String)
	}
	return objectOf(&keyPairSchema().Block, map[string]cty.Value{
		"name":                   cty.StringVal(deref(kp.KeyName)),
		"private_key_file":       getAttr(prior, "private_key_file"),
		"public_key":             getAttr(prior, "public_key"),
		"tags":                   tagsValue(userTags(kp.Tags), getAttr(prior, "tags")),
		"id":                     cty.StringVal(deref(kp.KeyName)),
		"key_pair_id":            cty.StringVal(deref(kp.KeyPairId)),
		"fingerprint":            cty.StringVal(deref(kp.KeyFingerprint)),
		"public_key_fingerprint": fp,
		"public_key_openssh":     remotePublicKey(kp, prior),
	})
}

// describeKeyPairs reads key pairs by name with one call. It filters on
// key-name rather than passing KeyNames, which fails as a whole when one
// name is missing; names are then matched exactly (filters take wildcards).
func describeKeyPairs(ctx context.Context, c *ec2.Client, names []string) (map[string]types.KeyPairInfo, error) {
	out, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		Filters:          []types.Filter{{Name: awssdk.String("key-name"), Values: names}},
		IncludePublicKey: awssdk.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	found := map[string]types.KeyPairInfo{}
	for _, kp := range out.KeyPairs {
		found[deref(kp.KeyName)] = kp
	}
	return found, nil
}

func (p *Provider) refreshKeyPairs(ctx context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
	return batchRead[types.KeyPairInfo]{
		what: "key pairs", key: "name", null: cty.NullVal(keyPairSchema().ImpliedType()),
		describe: describeKeyPairs,
		state:    func(kp types.KeyPairInfo, prior cty.Value) (cty.Value, bool) { return keyPairState(kp, prior), true },
	}.run(ctx, p, objs)
}

func (p *Provider) importKeyPair(ctx context.Context, c *ec2.Client, req providers.ImportRequest) providers.ImportResponse {
	found, err := describeKeyPairs(ctx, c, []string{req.ID})
	if err != nil {
		return providers.ImportResponse{Diagnostics: apiDiag("reading key pair "+req.ID, err)}
	}
	kp, ok := found[req.ID]
	if !ok {
		return providers.ImportResponse{Diagnostics: errorDiag("Key pair not found",
			"There is no key pair named %q in this region.", req.ID)}
	}
	return providers.ImportResponse{State: keyPairState(kp, cty.NullVal(keyPairSchema().ImpliedType()))}
}

func progress(req providers.ApplyChangeRequest, format string, args ...any) {
	if req.Progress != nil {
		req.Progress(fmt.Sprintf(format, args...))
	}
}
