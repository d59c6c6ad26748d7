package layers

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

const (
	launchKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHd8dHjcgZREejx+RWgBWCy/fMjAVfhBklw4InS3toE launch"
	aliceKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDNFiw5C51uCVSJ1l+g95aXf3MHS5NgxjjlHwBNSO5h6 alice@laptop"
	bobKey    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKaV8FAvRpg6mJ6gYP6mdDADxXYg9yxNUINGAgPU6M8d bob@laptop"
)

func keysLayer(keys ...string) providers.Layer {
	return layer("authorized_keys", "authorized_keys", layerConfig("authorized_keys", map[string]cty.Value{"keys": strList(keys...)}))
}

// TestLocalAuthorizedKeys runs the authorized_keys layer with bash: it adds
// its block after the lines already there (the launch key, a line without
// its newline), rewrites only that block when a person leaves, and removes
// only the block when the layer goes.
func TestLocalAuthorizedKeys(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t)
	if err := os.MkdirAll(r.path("~/.ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The launch key, and a line the user wrote by hand without a final newline.
	const mine = "# my own line"
	if err := os.WriteFile(r.path("~/.ssh/authorized_keys"), []byte(launchKey+"\n"+mine), 0o600); err != nil {
		t.Fatal(err)
	}
	both := keysLayer(aliceKey, bobKey)
	if got := probe(t, r, []providers.Layer{both}); got[0].Satisfied || got[0].Present {
		t.Fatalf("probe before = %+v", got[0])
	}
	mustConverge(t, r, &events{}, []providers.Layer{both}, nil)
	want := launchKey + "\n" + mine + "\n" + authKeysBegin + "\n" + aliceKey + "\n" + bobKey + "\n" + authKeysEnd + "\n"
	if got := r.sh(t, "cat ~/.ssh/authorized_keys"); got != want {
		t.Fatalf("authorized_keys:\n%s\nwant:\n%s", got, want)
	}
	if mode := r.sh(t, "stat -c %a ~/.ssh/authorized_keys"); strings.TrimSpace(mode) != "600" {
		t.Errorf("mode %s", mode)
	}
	if got := probe(t, r, []providers.Layer{both}); !got[0].Satisfied {
		t.Fatalf("probe after = %+v", got[0])
	}

	// Bob leaves: exactly his line goes.
	alice := keysLayer(aliceKey)
	if got := probe(t, r, []providers.Layer{alice}); got[0].Satisfied || !got[0].Present ||
		!cmp.Equal(got[0].Reasons, []string{"mlops' block differs: 2 keys -> 1"}) {
		t.Fatalf("probe with bob gone = %+v", got[0])
	}
	mustConverge(t, r, &events{}, []providers.Layer{alice}, nil)
	want = launchKey + "\n" + mine + "\n" + authKeysBegin + "\n" + aliceKey + "\n" + authKeysEnd + "\n"
	if got := r.sh(t, "cat ~/.ssh/authorized_keys"); got != want {
		t.Fatalf("authorized_keys after bob left:\n%s", got)
	}

	// The layer goes: the block goes, the rest stays.
	ev := &events{}
	mustConverge(t, r, ev, nil, []providers.LayerRecord{{Addr: alice.Addr, Kind: alice.Kind, Digest: alice.Digest, Config: alice.Config}})
	if got := r.sh(t, "cat ~/.ssh/authorized_keys"); got != launchKey+"\n"+mine+"\n" {
		t.Fatalf("authorized_keys after removal:\n%s", got)
	}
}

func TestAuthorizedKeysRefusesPrivateKeysAndOptions(t *testing.T) {
	for _, bad := range []string{
		"-----BEGIN OPENSSH PRIVATE KEY-----",
		`command="rm -rf ~" ` + aliceKey,
		aliceKey + "\n" + bobKey,
		"ssh-ed25519 not-base64",
	} {
		if err := validatePublicKey(bad); err == nil {
			t.Errorf("validatePublicKey(%q) accepted it", bad)
		}
	}
	if err := validatePublicKey(aliceKey); err != nil {
		t.Errorf("validatePublicKey(alice) = %v", err)
	}
}
