package state

import (
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
)

// TestInstanceKeysRoundTrip: instances of count and for_each resources
// record their key (index_key) and come back with it; a state written
// before keys existed loads as it was.
func TestInstanceKeysRoundTrip(t *testing.T) {
	box := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "box"}
	s := New("l")
	for _, a := range []addrs.Resource{box.Instance(addrs.StringKey("alice")), box.Instance(addrs.IntKey(0)), box} {
		r := ResourceFor(a)
		r.Attributes = []byte(`{}`)
		s.SetResource(r)
	}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"address": "aws_instance.box[\"alice\"]"`, `"index_key": "alice"`, `"index_key": 0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded state lacks %s:\n%s", want, b)
		}
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if r := back.Resource(`aws_instance.box["alice"]`); r == nil || r.Addr() != box.Instance(addrs.StringKey("alice")) {
		t.Errorf("alice: %+v", r)
	}
	if r := back.Resource(`aws_instance.box[0]`); r == nil || r.Addr() != box.Instance(addrs.IntKey(0)) {
		t.Errorf("box[0]: %+v", r)
	}
	if r := back.Resource(`aws_instance.box`); r == nil || r.Key != addrs.NoKey {
		t.Errorf("box: %+v", r)
	}

	old := `{"version":1,"serial":3,"lineage":"l","resources":[{"address":"aws_instance.web","mode":"managed","type":"aws_instance","name":"web","attributes":{}}]}`
	if st, err := Decode([]byte(old)); err != nil || st.Resource("aws_instance.web") == nil {
		t.Errorf("an old state does not load: %v", err)
	}
	// An address whose key disagrees with index_key is refused.
	bad := strings.Replace(string(b), `"index_key": "alice"`, `"index_key": "bob"`, 1)
	if _, err := Decode([]byte(bad)); err == nil {
		t.Errorf("a state whose index_key disagrees with its address loads")
	}
}
