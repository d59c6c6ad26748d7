package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// SensitiveValue is what every view shows instead of a sensitive value.
const SensitiveValue = "(sensitive value)"

// sensitiveMark marks the values a view must not show (see MarkSensitive).
type sensitiveMark struct{}

// MarkSensitive returns v with the given top-level attributes marked, for
// views: a marked value renders as SensitiveValue. v is returned as it is
// when it is not a known object.
func MarkSensitive(v cty.Value, attrs []string) cty.Value {
	if len(attrs) == 0 || v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := v.AsValueMap()
	for _, a := range attrs {
		if av, ok := m[a]; ok {
			m[a] = av.Mark(sensitiveMark{})
		}
	}
	return cty.ObjectVal(m)
}

// MaskSensitive returns v with the given top-level attributes replaced by
// the string SensitiveValue, for JSON views.
func MaskSensitive(v cty.Value, attrs []string) cty.Value {
	if len(attrs) == 0 || v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := v.AsValueMap()
	for _, a := range attrs {
		if av, ok := m[a]; ok && !av.IsNull() {
			m[a] = cty.StringVal(SensitiveValue)
		}
	}
	return cty.ObjectVal(m)
}

// recordedLayerConfig is the configuration of an applied layer as the state
// records it: attributes whose schema says DigestInState (a file's content,
// a shell layer's commands) become "sha256:HEX" of their value, so that the
// state (local or S3, and `state pull`) never holds them, while the
// attributes removal needs (a file's destination) stay.
func recordedLayerConfig(ls *schema.Layer, cfg cty.Value) cty.Value {
	if ls == nil || cfg == cty.NilVal || cfg.IsNull() || !cfg.IsWhollyKnown() || !cfg.Type().IsObjectType() {
		return cfg
	}
	m := cfg.AsValueMap()
	changed := false
	for name, a := range ls.Block.Attributes {
		v, ok := m[name]
		if !a.DigestInState || !ok || !v.IsKnown() || v.IsNull() || v.Type() != cty.String || isDigest(v.AsString()) {
			continue
		}
		sum := sha256.Sum256([]byte(v.AsString()))
		m[name] = cty.StringVal("sha256:" + hex.EncodeToString(sum[:]))
		changed = true
	}
	if !changed {
		return cfg
	}
	return cty.ObjectVal(m)
}

// layerOutputFilter passes remote output on to the hooks, except for layers
// whose settings are sensitive: a command's output may echo them, so one
// line says it is suppressed.
type layerOutputFilter struct {
	e    *Engine
	h    Hooks
	mu   sync.Mutex
	said map[addrs.Layer]bool
}

func (f *layerOutputFilter) line(l addrs.Layer, line string) {
	if f.e.Config == nil || !f.e.Config.LayerSensitive(l) {
		f.h.LayerOutput(l, line)
		return
	}
	f.mu.Lock()
	first := !f.said[l]
	if f.said == nil {
		f.said = map[addrs.Layer]bool{}
	}
	f.said[l] = true
	f.mu.Unlock()
	if first {
		f.h.LayerOutput(l, "(output suppressed: the layer's settings are sensitive)")
	}
}

// suppressSensitiveFailure drops the remote output from the diagnostics of
// a failed layer whose settings are sensitive: its last output lines may
// echo them. The summary (which layer failed) stays.
func suppressSensitiveFailure(e *Engine, l addrs.Layer, diags hcl.Diagnostics) {
	if e.Config == nil || !e.Config.LayerSensitive(l) {
		return
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			d.Detail = "The layer failed. Its output is not shown because its settings derive from a sensitive value; run its commands by hand (mlops ssh) to see it."
		}
	}
}

// scrubLayerRecords rewrites the layer records of st the way
// recordedLayerConfig records new ones (digests instead of file contents and
// commands). Records that do not decode with their kind's schema are left
// as they are: removal then says it cannot read them, as before.
func scrubLayerRecords(schemas schema.Schemas, st *state.State) {
	for _, r := range st.Resources {
		for _, l := range r.Layers {
			ls := schemas.Layers[l.Kind]
			if ls == nil || len(l.Config) == 0 {
				continue
			}
			v, err := ctyjson.Unmarshal(l.Config, ls.Block.ImpliedType())
			if err != nil {
				continue
			}
			nv := recordedLayerConfig(ls, v)
			if nv.RawEquals(v) {
				continue
			}
			if b, err := ctyjson.Marshal(nv, nv.Type()); err == nil {
				l.Config = b
			}
		}
	}
}

// isDigest reports whether s is already a recorded digest ("sha256:" and 64
// lowercase hex digits), so that recording twice changes nothing.
func isDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}
