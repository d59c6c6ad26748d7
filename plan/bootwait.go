package plan

import "github.com/zclconf/go-cty/cty"

// rebooted says an update stops and starts the machine: EC2 changes an
// instance's type only while it is stopped.
func rebooted(ch *Change) bool {
	if ch.Action != Update {
		return false
	}
	get := func(v cty.Value) cty.Value {
		if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute("instance_type") {
			return cty.NilVal
		}
		return v.GetAttr("instance_type")
	}
	before, after := get(ch.Before), get(ch.After)
	if before == cty.NilVal || after == cty.NilVal {
		return false
	}
	if !before.IsKnown() || !after.IsKnown() {
		return true
	}
	return !before.RawEquals(after)
}
