package plan

import (
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// power is what the schema of addr's type says about stopping and starting
// its machine (schema.Power), or nil for a machine that is always up.
func (e *Engine) power(addr addrs.Resource) *schema.Power {
	rs, err := resourceSchema(e.Schemas, addr)
	if err != nil {
		return nil
	}
	if rs.Power != nil {
		return rs.Power
	}
	if rs.Block.Attributes["running"] != nil {
		return runningAttrPower
	}
	return nil
}

// known says v is a whole object value a Power function can read.
func known(v cty.Value) bool {
	return v != cty.NilVal && !v.IsNull() && v.IsKnown() && v.Type().IsObjectType()
}

// isStopped reports whether a resource value says its machine is stopped.
func (e *Engine) isStopped(addr addrs.Resource, v cty.Value) bool {
	pw := e.power(addr)
	return pw != nil && pw.Stopped != nil && known(v) && pw.Stopped(v)
}

// stopReason is who stopped a stopped machine and when, or "".
func (e *Engine) stopReason(addr addrs.Resource, v cty.Value) string {
	pw := e.power(addr)
	if pw == nil || pw.StopReason == nil || !known(v) {
		return ""
	}
	return pw.StopReason(v)
}

// rebooted says an update stops and starts the machine.
func (e *Engine) rebooted(ch *Change) bool {
	pw := e.power(ch.Addr)
	if ch.Action != Update || pw == nil || pw.Restarts == nil || !known(ch.Before) || !known(ch.After) {
		return false
	}
	return pw.Restarts(ch.Before, ch.After)
}

// runningAttrPower reads a machine's power from the attributes aws_instance
// has (running, stop_reason, instance_type), for a resource type whose
// schema has a running attribute but declares no Power. It keeps today's
// behaviour until providers/aws declares schema.Resource.Power for
// aws_instance (its resource table is being rewritten meanwhile); then
// this fallback goes.
var runningAttrPower = &schema.Power{
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
	// EC2 changes an instance's type only while it is stopped.
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
