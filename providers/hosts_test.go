package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestLayerDigest(t *testing.T) {
	file := func(dest, content, mode string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"destination": cty.StringVal(dest), "content": cty.StringVal(content), "mode": cty.StringVal(mode)})
	}
	a := file("~/x", "hello", "0644")
	if !strings.HasPrefix(LayerDigest("file", a), "sha256:") || len(LayerDigest("file", a)) != 7+64 {
		t.Fatalf("LayerDigest = %q, want sha256:<64 hex digits>", LayerDigest("file", a))
	}
	for _, other := range []string{
		LayerDigest("shell", a),
		LayerDigest("file", file("~/x", "hello\n", "0644")),
		LayerDigest("file", file("~/x", "hello", "0600")),
	} {
		if other == LayerDigest("file", a) {
			t.Error("different inputs, same digest")
		}
	}
	// Pinned: the state records digests, so the encoding must not drift.
	shell := cty.ObjectVal(map[string]cty.Value{"check": cty.StringVal("true"), "run": cty.StringVal("echo hi")})
	sum := sha256.Sum256([]byte("shell\x00{\"check\":\"true\",\"run\":\"echo hi\"}"))
	if got, want := LayerDigest("shell", shell), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("LayerDigest = %s, want %s", got, want)
	}
}
