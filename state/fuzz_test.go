package state

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the state decoder: it must never
// panic, and a state it accepts must encode and decode to the same thing.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"serial":1,"lineage":"x","resources":[]}`))
	f.Add([]byte(`{"version":1,"serial":2,"lineage":"x","resources":[{"address":"aws_instance.a","mode":"managed","type":"aws_instance","name":"a","attributes":{"id":"i-1"}}]}`))
	f.Add([]byte(`{"version":99}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		s2, err := Decode(enc)
		if err != nil {
			t.Fatalf("encoded state does not decode: %v\n%s", err, enc)
		}
		enc2, _ := s2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encode/decode is not stable:\n%s\n%s", enc, enc2)
		}
	})
}
