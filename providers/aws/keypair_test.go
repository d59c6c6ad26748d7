package aws

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// remoteKey returns the public key EC2 holds for a key pair name.
func (w *world) remoteKey(name string) (types.KeyPairInfo, bool) {
	w.t.Helper()
	out, err := w.ec2.DescribeKeyPairs(w.ctx, &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{{Name: awssdk.String("key-name"), Values: []string{name}}}, IncludePublicKey: awssdk.Bool(true)})
	if err != nil {
		w.t.Fatalf("DescribeKeyPairs: %v", err)
	}
	if len(out.KeyPairs) == 0 {
		return types.KeyPairInfo{}, false
	}
	return out.KeyPairs[0], true
}

// stringsOf collects every string inside a value.
func stringsOf(v cty.Value) []string {
	var out []string
	cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsKnown() && !x.IsNull() && x.Type() == cty.String {
			out = append(out, x.AsString())
		}
		return true, nil
	})
	return out
}

func TestKeyPairGeneratesKeyAndImportsOnlyThePublicHalf(t *testing.T) {
	var fc *faultClient
	w := newWorld(t, func(next awssdk.HTTPClient) awssdk.HTTPClient {
		fc = &faultClient{next: next, faults: map[string][]fault{}}
		return fc
	})
	addr := resourceAddr("aws_key_pair", "dev")
	cfg := keyPairConfig(map[string]cty.Value{
		"name":             cty.StringVal("mlops-dev"),
		"private_key_file": cty.StringVal("~/.ssh/mlops/dev_ed25519"),
	})
	prior := cty.NullVal(keyPairSchema().ImpliedType())
	plan := w.plan(addr, prior, cfg)
	if plan.Planned.GetAttr("public_key_fingerprint").IsKnown() {
		t.Errorf("fingerprint of a key yet to be generated should be unknown")
	}
	if got := getString(plan.Planned, "id"); got != "mlops-dev" {
		t.Errorf("planned id = %q", got)
	}

	a := w.apply(addr, prior, cfg)
	state := a.resp.NewState
	path := filepath.Join(w.home, ".ssh", "mlops", "dev_ed25519")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want just the key (no temporary files)", len(entries))
	}
	pemBytes, _ := os.ReadFile(path)
	key, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatalf("written key does not parse: %v", err)
	}
	signer, _ := ssh.NewSignerFromKey(key)
	localPub := signer.PublicKey()

	// EC2 holds exactly the public half.
	kp, ok := w.remoteKey("mlops-dev")
	if !ok {
		t.Fatal("key pair not in moto")
	}
	remotePub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(deref(kp.PublicKey)))
	if err != nil || !strings.EqualFold(ssh.FingerprintSHA256(remotePub), ssh.FingerprintSHA256(localPub)) {
		t.Errorf("moto's public key %q does not match the local key (%v)", deref(kp.PublicKey), err)
	}
	if got := getString(state, "public_key_fingerprint"); got != ssh.FingerprintSHA256(localPub) {
		t.Errorf("public_key_fingerprint = %s, want %s", got, ssh.FingerprintSHA256(localPub))
	}
	if getString(state, "key_pair_id") == "" || getString(state, "fingerprint") == "" || getString(state, "id") != "mlops-dev" {
		t.Errorf("state = %#v", state)
	}
	if len(a.created) != 1 {
		t.Errorf("Created called %d times", len(a.created))
	}

	// The private key went nowhere: not in any request, state or message.
	// The PEM lines after the second hold private material (the first
	// ones, the header and the public key, may legitimately be public).
	lines := strings.Split(strings.TrimSpace(string(pemBytes)), "\n")
	secrets := lines[3 : len(lines)-1]
	seed := key.(*ed25519.PrivateKey).Seed()
	secrets = append(secrets, hex.EncodeToString(seed), base64.StdEncoding.EncodeToString(seed)[:24])
	leaks := func(where, s string) {
		if strings.Contains(s, "PRIVATE KEY") {
			t.Fatalf("%s carries a private key", where)
		}
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Fatalf("%s carries private key material", where)
			}
		}
	}
	for _, body := range fc.bodies {
		form, _ := url.ParseQuery(body)
		for _, vs := range form {
			for _, v := range vs {
				leaks("a request", v)
			}
		}
		leaks("a request", body)
	}
	for _, s := range append(stringsOf(state), a.progress...) {
		leaks("state or progress", s)
	}

	// Plan again: the fingerprint is computed from the file, nothing changes.
	state = w.refresh(providers.ResourceObject{Addr: addr, State: state})[0]
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) || len(p.RequiresReplace) > 0 {
		t.Fatalf("plan after create is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// Tags change in place.
	cfgTags := keyPairConfig(map[string]cty.Value{
		"name": cty.StringVal("mlops-dev"), "private_key_file": cty.StringVal("~/.ssh/mlops/dev_ed25519"),
		"tags": stringMap(map[string]string{"team": "ml"}),
	})
	a = w.apply(addr, state, cfgTags)
	state = w.refresh(providers.ResourceObject{Addr: addr, State: a.resp.NewState})[0]
	if got := getStringMap(state, "tags"); got["team"] != "ml" || len(got) != 1 {
		t.Errorf("tags after update = %v", got)
	}
	if kp, _ := w.remoteKey("mlops-dev"); !hasOwnerTags(kp.Tags, ownerTags(addr)) {
		t.Errorf("ownership tags lost: %v", kp.Tags)
	}

	// A different local key plans a replacement.
	os.Remove(path)
	otherPub, err := generateKeyFile(path, "other")
	if err != nil {
		t.Fatal(err)
	}
	p := w.plan(addr, state, cfgTags)
	// The new public key is known at plan time, for authorized_keys.
	if got, want := getString(p.Planned, "public_key_openssh"), publicKeyLine(otherPub); got != want || want == getString(state, "public_key_openssh") {
		t.Errorf("planned public_key_openssh = %q, want %q", got, want)
	}
	if len(p.RequiresReplace) != 1 || !p.RequiresReplace[0].Equals(cty.GetAttrPath("public_key_fingerprint")) {
		t.Errorf("RequiresReplace = %v, want [public_key_fingerprint]", p.RequiresReplace)
	}
	// A missing one does not (issue 9): the key pair holds a teammate's
	// key; no new key is generated and the plan says whose key it is.
	os.Remove(path)
	p = w.plan(addr, state, cfgTags)
	if len(p.RequiresReplace) != 0 || p.Diagnostics.HasErrors() {
		t.Errorf("RequiresReplace with the key file gone = %v, %v", p.RequiresReplace, p.Diagnostics)
	}
	if fp := getString(state, "public_key_fingerprint"); len(p.Diagnostics) != 1 || !strings.Contains(p.Diagnostics[0].Detail, fp) ||
		!strings.Contains(p.Diagnostics[0].Detail, "authorized_keys") || getString(p.Planned, "public_key_fingerprint") != fp {
		t.Errorf("plan with the key file gone: %v", p.Diagnostics)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("planning generated a key")
	}
	if got := getString(p.Planned, "public_key_openssh"); got == "" || got != getString(state, "public_key_openssh") || !strings.HasPrefix(got, "ssh-ed25519 ") {
		t.Errorf("kept key pair: planned public_key_openssh = %q, recorded %q", got, getString(state, "public_key_openssh"))
	}

	// Delete removes the key pair and leaves the local file alone.
	if _, err := generateKeyFile(path, "again"); err != nil {
		t.Fatal(err)
	}
	w.destroy(addr, state)
	if _, ok := w.remoteKey("mlops-dev"); ok {
		t.Errorf("key pair still in moto after delete")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("delete removed the local key file: %v", err)
	}
}

func TestKeyPairFromExistingFilesAndPublicKey(t *testing.T) {
	w := newWorld(t, nil)
	prior := cty.NullVal(keyPairSchema().ImpliedType())

	// An existing OpenSSH private key file: its public key is imported.
	path := filepath.Join(w.home, "id_ed25519")
	pub, err := generateKeyFile(path, "mine")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	addr := resourceAddr("aws_key_pair", "file")
	cfg := keyPairConfig(map[string]cty.Value{"name": cty.StringVal("from-file"), "private_key_file": cty.StringVal(path)})
	plan := w.plan(addr, prior, cfg)
	if got := getString(plan.Planned, "public_key_fingerprint"); got != ssh.FingerprintSHA256(pub) {
		t.Errorf("planned fingerprint = %q, want %q", got, ssh.FingerprintSHA256(pub))
	}
	w.apply(addr, prior, cfg)
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("an existing key file was modified")
	}
	if kp, _ := w.remoteKey("from-file"); !strings.HasPrefix(deref(kp.PublicKey), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))) {
		t.Errorf("moto holds %q", deref(kp.PublicKey))
	}

	// A public key given inline.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " me@laptop"
	addr = resourceAddr("aws_key_pair", "inline")
	cfg = keyPairConfig(map[string]cty.Value{"name": cty.StringVal("inline"), "public_key": cty.StringVal(line)})
	a := w.apply(addr, prior, cfg)
	if got := getString(a.resp.NewState, "public_key_fingerprint"); got != ssh.FingerprintSHA256(signer.PublicKey()) {
		t.Errorf("fingerprint = %s", got)
	}
	state := w.refresh(providers.ResourceObject{Addr: addr, State: a.resp.NewState})[0]
	if p := w.plan(addr, state, cfg); !p.Planned.RawEquals(state) {
		t.Errorf("plan after create is not a no-op:\nplanned %#v\nstate   %#v", p.Planned, state)
	}

	// Import by name.
	imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: "inline"})
	noErrors(t, imp.Diagnostics)
	checkConforms(t, addr, imp.State)
	if getString(imp.State, "key_pair_id") != getString(state, "key_pair_id") || getString(imp.State, "public_key_fingerprint") != getString(state, "public_key_fingerprint") {
		t.Errorf("imported %#v", imp.State)
	}
	if imp := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: "nope"}); !imp.Diagnostics.HasErrors() {
		t.Errorf("import of a missing key pair succeeded")
	}

	// A name taken by a key pair that is not ours: a clear error.
	w.ec2.ImportKeyPair(w.ctx, &ec2.ImportKeyPairInput{KeyName: awssdk.String("taken"), PublicKeyMaterial: []byte(line)})
	resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: prior,
		Planned: w.plan(addr, prior, keyPairConfig(map[string]cty.Value{"name": cty.StringVal("taken"), "public_key": cty.StringVal(line)})).Planned,
		Config:  keyPairConfig(map[string]cty.Value{"name": cty.StringVal("taken"), "public_key": cty.StringVal(line)}),
		Tags:    ownerTags(addr)})
	if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), "importing key pair taken: api error InvalidKeyPair.Duplicate") {
		t.Errorf("diagnostics = %s", diagText(resp.Diagnostics))
	}
}

func TestKeyPairPlanErrors(t *testing.T) {
	p := New(Options{Env: []string{"HOME=" + t.TempDir()}})
	addr := resourceAddr("aws_key_pair", "k")
	bad := filepath.Join(t.TempDir(), "not-a-key")
	os.WriteFile(bad, []byte("-----BEGIN SECRET STUFF-----\nc2VjcmV0IGNvbnRlbnRz\n-----END SECRET STUFF-----\n"), 0o600)
	tests := []struct {
		name  string
		attrs map[string]cty.Value
		want  string
	}{
		{"neither", map[string]cty.Value{"name": cty.StringVal("k")}, "needs private_key_file"},
		{"both", map[string]cty.Value{"name": cty.StringVal("k"), "private_key_file": cty.StringVal("~/k"),
			"public_key": cty.StringVal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm0dnQ3YkH1c3lqzQ0gP0HX4iQ5Yx2c8CkVfD0K9p7b")}, "not both"},
		{"not a key", map[string]cty.Value{"name": cty.StringVal("k"), "private_key_file": cty.StringVal(bad)}, "is not an OpenSSH or PEM private key"},
		{"~user", map[string]cty.Value{"name": cty.StringVal("k"), "private_key_file": cty.StringVal("~bob/key")}, "only ~ and ~/ are expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := p.PlanChange(t.Context(), providers.PlanChangeRequest{Addr: addr,
				Prior: cty.NullVal(keyPairSchema().ImpliedType()), Config: keyPairConfig(tt.attrs)})
			text := diagText(resp.Diagnostics)
			if !resp.Diagnostics.HasErrors() || !strings.Contains(text, tt.want) {
				t.Errorf("diagnostics = %s, want %q", text, tt.want)
			}
			if strings.Contains(text, "c2VjcmV0") {
				t.Errorf("diagnostics quote the key file: %s", text)
			}
		})
	}
}

func TestGenerateKeyFileRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	os.WriteFile(path, []byte("precious"), 0o600)
	if _, err := generateKeyFile(path, "x"); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("file overwritten")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestKeyPathsResolve(t *testing.T) {
	p := New(Options{Env: []string{"HOME=/home/me"}, WorkDir: "/work/stack"})
	for in, want := range map[string]string{
		"~":               "/home/me",
		"~/.ssh/id":       "/home/me/.ssh/id",
		"keys/dev":        "/work/stack/keys/dev",
		"/abs/key":        "/abs/key",
		"./keys/../k/dev": "/work/stack/k/dev",
	} {
		if got, err := p.expandHome(in); err != nil || got != want {
			t.Errorf("expandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := New(Options{}).expandHome("~/k"); err == nil || !strings.Contains(err.Error(), "HOME is not set") {
		t.Errorf("err = %v", err)
	}
}
