package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
)

// TestLayerRecordsHoldDigests: a state written before layer records held
// digests is scrubbed, the destination a removal needs stays, and scrubbing
// again changes nothing.
func TestLayerRecordsHoldDigests(t *testing.T) {
	schemas := schema.Schemas{Layers: layers.Schemas()}
	st := state.New("l")
	st.SetResource(&state.Resource{Address: "host.h", Mode: state.ModeManaged, Type: "host", Name: "h", Attributes: json.RawMessage(`{"id":"host.h"}`),
		Layers: []*state.Layer{
			{Name: "f", Kind: "file", Digest: "sha256:x", Config: json.RawMessage(`{"destination":"~/t.env","content":"TOKEN=hunter2\n","mode":"0600"}`)},
			{Name: "s", Kind: "shell", Digest: "sha256:y", Config: json.RawMessage(`{"check":"test -e ~/done","run":"curl -H 'Authorization: hunter2' x"}`)},
		}})
	scrubLayerRecords(schemas, st)
	once := string(st.Resources[0].Layers[0].Config) + string(st.Resources[0].Layers[1].Config)
	if strings.Contains(once, "hunter2") || strings.Contains(once, "test -e") {
		t.Fatalf("layer records still hold contents or commands: %s", once)
	}
	if !strings.Contains(once, `"destination":"~/t.env"`) || !strings.Contains(once, `"content":"sha256:`) {
		t.Fatalf("layer record lost what removal needs: %s", once)
	}
	scrubLayerRecords(schemas, st)
	if twice := string(st.Resources[0].Layers[0].Config) + string(st.Resources[0].Layers[1].Config); twice != once {
		t.Fatalf("scrubbing twice changed the records:\n%s\n%s", once, twice)
	}
}
