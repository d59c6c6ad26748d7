package plan

import (
	"encoding/json"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// samplePlanFile is a small saved plan with every part a plan file has,
// written by Marshal (so its digest is right).
func samplePlanFile(t testing.TB) []byte {
	p := &Plan{Lineage: "x", Serial: 1, Variables: map[string]cty.Value{"port": cty.NumberIntVal(22)},
		Changes: []*Change{{Addr: ra("fake_thing.a"), Action: Create, Before: cty.NullVal(cty.DynamicPseudoType),
			After: cty.ObjectVal(map[string]cty.Value{"id": cty.UnknownVal(cty.String), "name": cty.StringVal("a")})}},
		Outputs:  []*OutputChange{{Name: "o", Action: Create, Before: cty.NullVal(cty.String), After: cty.StringVal("v")}},
		Inputs:   &Inputs{Files: []InputFile{{Kind: InputConfig, Path: "main.hcl", Digest: "sha256:00"}}, VariableSources: map[string]string{"port": "default"}},
		HostKeys: map[string]string{"host.a@127.0.0.2:22": "ssh-ed25519 AAAA"},
	}
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzUnmarshal feeds arbitrary bytes to the saved-plan decoder: no panic,
// and whatever it accepts encodes again.
func FuzzUnmarshal(f *testing.F) {
	f.Add(samplePlanFile(f))
	f.Add([]byte(`{"format":"mlops-plan","version":2,"lineage":"x","serial":1,"variables":{},"changes":[]}`))
	f.Add([]byte(`{"format":"other"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Unmarshal(data)
		if err != nil {
			return
		}
		if _, err := Marshal(p); err != nil {
			t.Fatalf("a decoded plan does not encode: %v", err)
		}
	})
}

// FuzzDecodePlanFile reaches the decoder behind the content digest: the
// fuzzed JSON gets a correct digest before it is decoded, so mutations of
// types, msgpack values, addresses and paths are decoded, not refused at
// the digest check. No input may panic; whatever decodes encodes again and
// decodes to the same plan file.
func FuzzDecodePlanFile(f *testing.F) {
	f.Add(samplePlanFile(f))
	f.Add([]byte(`{"format":"mlops-plan","version":2,"changes":[{"address":"a.b","action":"create","before":{"type":"\"dynamic\"","msgpack":"wA=="},"after":{"type":"\"string\"","msgpack":"wA=="}}]}`))
	f.Add([]byte(`{"format":"mlops-plan","version":2,"changes":[{"address":"a.b","action":"replace","replace_paths":["x"]}],"replace_path_values":{"a.b#0":[{"type":"\"dynamic\"","msgpack":"wA=="}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pf planFile
		if json.Unmarshal(data, &pf) != nil {
			return
		}
		d, err := contentDigest(pf)
		if err != nil {
			return
		}
		pf.Digest = d
		b, err := json.Marshal(pf)
		if err != nil {
			return
		}
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		again, err := Marshal(p)
		if err != nil {
			t.Fatalf("a decoded plan does not encode: %v", err)
		}
		if _, err := Unmarshal(again); err != nil {
			t.Fatalf("a plan mlops wrote is refused: %v", err)
		}
	})
}
