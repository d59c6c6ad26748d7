package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

func TestPlanFileEditedIsRefused(t *testing.T) {
	b := samplePlanFile(t)
	if _, err := Unmarshal(b); err != nil {
		t.Fatalf("an untouched plan file is refused: %v", err)
	}
	// Re-indenting changes no content: still accepted.
	var compact bytes.Buffer
	compact.Write(bytes.ReplaceAll(b, []byte("\n  "), []byte("\n")))
	if _, err := Unmarshal(compact.Bytes()); err != nil {
		t.Fatalf("a re-indented plan file is refused: %v", err)
	}
	for name, edit := range map[string][2]string{
		"serial":     {`"serial": 1`, `"serial": 2`},
		"lineage":    {`"lineage": "x"`, `"lineage": "y"`},
		"host key":   {`AAAA"`, `BBBB"`},
		"input file": {`"sha256:00"`, `"sha256:01"`},
		"action":     {`"action": "create"`, `"action": "delete"`},
	} {
		t.Run(name, func(t *testing.T) {
			if !bytes.Contains(b, []byte(edit[0])) {
				t.Fatalf("sample lacks %s:\n%s", edit[0], b)
			}
			_, err := Unmarshal(bytes.Replace(b, []byte(edit[0]), []byte(edit[1]), 1))
			if err == nil || !strings.Contains(err.Error(), "modified after mlops wrote it") {
				t.Fatalf("edited plan file: got %v", err)
			}
		})
	}
}

func TestCompareNamesWhatMoved(t *testing.T) {
	mk := func(name string, layerDigest string, out string) *Plan {
		return &Plan{
			Changes: []*Change{{Addr: ra("fake_thing.a"), Action: Update,
				After:  cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("i-1"), "name": cty.StringVal(name)}),
				Layers: []*LayerChange{{Addr: la("fake_thing.a.layer.x"), Kind: "file", Action: Update, Digest: layerDigest}}}},
			Outputs: []*OutputChange{{Name: "o", Action: Update, After: cty.StringVal(out)}},
		}
	}
	saved := mk("a", "d1", "v")
	if msg := saved.Compare(mk("a", "d1", "v")); msg != "" {
		t.Fatalf("same plan differs: %s", msg)
	}
	for want, fresh := range map[string]*Plan{
		"fake_thing.a: the planned value of name differs": mk("b", "d1", "v"),
		"fake_thing.a.layer.x: its settings differ":       mk("a", "d2", "v"),
		`output "o" differs`:                              mk("a", "d1", "w"),
	} {
		if msg := saved.Compare(fresh); !strings.Contains(msg, want) {
			t.Errorf("want %q, got %q", want, msg)
		}
	}
}

func la(s string) addrs.Layer {
	a, err := addrs.ParseLayer(s)
	if err != nil {
		panic(err)
	}
	return a
}
