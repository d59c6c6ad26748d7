package plan

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// resourceSchema finds the schema of a resource or data source type.
func resourceSchema(s schema.Schemas, addr addrs.Resource) (*schema.Resource, error) {
	m := s.Resources
	if addr.Mode == addrs.Data {
		m = s.DataSources
	}
	if rs, ok := m[addr.Type]; ok {
		return rs, nil
	}
	return nil, fmt.Errorf("%s: no provider knows the type %q", addr, addr.Type)
}

// stateAddr parses the address of a state entry.
func stateAddr(r *state.Resource) (addrs.Resource, error) {
	return addrs.ParseResource(r.Address)
}

// decodeState turns a state entry's attributes into a value of the schema type.
func decodeState(r *state.Resource, rs *schema.Resource) (cty.Value, error) {
	ty := rs.ImpliedType()
	if len(r.Attributes) == 0 || string(r.Attributes) == "null" {
		return cty.NullVal(ty), nil
	}
	v, err := ctyjson.Unmarshal(r.Attributes, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("state entry %s does not match its schema: %w", r.Address, err)
	}
	return v, nil
}

// encodeValue turns a wholly known value into JSON for state.
func encodeValue(v cty.Value) (json.RawMessage, error) {
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is not wholly known")
	}
	b, err := ctyjson.Marshal(v, v.Type())
	return json.RawMessage(b), err
}

// idOf reads the identifier attribute of a value, "" when unknown or null.
func idOf(v cty.Value, rs *schema.Resource) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || rs == nil {
		return ""
	}
	attr := rs.IDAttr
	if attr == "" {
		attr = "id"
	}
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(attr) {
		return ""
	}
	id := v.GetAttr(attr)
	if id.IsNull() || !id.IsKnown() || id.Type() != cty.String {
		return ""
	}
	return id.AsString()
}

func addrStrings(as []addrs.Resource) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	sort.Strings(out)
	return out
}

func parseAddrs(ss []string) []addrs.Resource {
	var out []addrs.Resource
	for _, s := range ss {
		if a, err := addrs.ParseResource(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// modeString is the state file's spelling of a mode.
func modeString(m addrs.Mode) string {
	if m == addrs.Data {
		return "data"
	}
	return "managed"
}
