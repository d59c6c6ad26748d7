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
	return rs.Power
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
