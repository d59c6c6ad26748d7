package plan

import "github.com/zclconf/go-cty/cty"

// stopReason is the stop_reason a provider records for a stopped machine
// (who stopped it and when), or "".
func stopReason(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("stop_reason") {
		return ""
	}
	r := v.GetAttr("stop_reason")
	if !r.IsKnown() || r.IsNull() || r.Type() != cty.String {
		return ""
	}
	return r.AsString()
}
