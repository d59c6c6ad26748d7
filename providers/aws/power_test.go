package aws

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestInstancePower: what the engine learns of an aws_instance from its value.
func TestInstancePower(t *testing.T) {
	v := func(running cty.Value, typ, reason string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"running": running, "instance_type": cty.StringVal(typ), "stop_reason": cty.StringVal(reason)})
	}
	pw := instanceSchema().Power
	if !pw.Stopped(v(cty.False, "t3.small", "")) || pw.Stopped(v(cty.True, "t3.small", "")) || pw.Stopped(v(cty.UnknownVal(cty.Bool), "t3.small", "")) {
		t.Error("Stopped")
	}
	if got := pw.StopReason(v(cty.False, "t3.small", "idle-stop at 10:00")); got != "idle-stop at 10:00" {
		t.Errorf("StopReason %q", got)
	}
	if !pw.Restarts(v(cty.True, "t3.small", ""), v(cty.True, "t3.large", "")) || pw.Restarts(v(cty.True, "t3.small", ""), v(cty.True, "t3.small", "")) {
		t.Error("Restarts")
	}
	if !pw.Start(v(cty.False, "t3.small", "")).GetAttr("running").True() {
		t.Error("Start")
	}
}
