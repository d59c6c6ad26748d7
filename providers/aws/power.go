package aws

import (
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// instancePower is what the engine learns of an aws_instance's power from
// its value: running = false is a stopped machine (its layers wait),
// stop_reason says who stopped it, and a change of instance_type stops and
// starts it, since EC2 changes the type only while it is stopped.
func instancePower() *schema.Power {
	return &schema.Power{
		Stopped: func(v cty.Value) bool {
			if !v.Type().HasAttribute("running") {
				return false
			}
			r := v.GetAttr("running")
			return r.IsKnown() && !r.IsNull() && r.False()
		},
		StopReason: func(v cty.Value) string {
			if !v.Type().HasAttribute("stop_reason") {
				return ""
			}
			r := v.GetAttr("stop_reason")
			if !r.IsKnown() || r.IsNull() || r.Type() != cty.String {
				return ""
			}
			return r.AsString()
		},
		Start: func(v cty.Value) cty.Value {
			vals := v.AsValueMap()
			vals["running"] = cty.True
			return cty.ObjectVal(vals)
		},
		Restarts: func(before, after cty.Value) bool {
			if !before.Type().HasAttribute("instance_type") || !after.Type().HasAttribute("instance_type") {
				return false
			}
			b, a := before.GetAttr("instance_type"), after.GetAttr("instance_type")
			if !b.IsKnown() || !a.IsKnown() {
				return true
			}
			return !b.RawEquals(a)
		},
	}
}
