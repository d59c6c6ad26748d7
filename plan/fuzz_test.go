package plan

import "testing"

// FuzzUnmarshal feeds arbitrary bytes to the saved-plan decoder: no panic,
// and what it accepts re-encodes.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"format":"mlops-plan","version":1,"lineage":"x","serial":1,"variables":{},"changes":[]}`))
	f.Add([]byte(`{"format":"mlops-plan","version":1,"changes":[{"address":"a.b","action":"create","before":{"type":"\"dynamic\"","msgpack":"wA=="},"after":{"type":"\"string\"","msgpack":"wA=="}}]}`))
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
