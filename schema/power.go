package schema

import "github.com/zclconf/go-cty/cty"

// Power is what a provider tells the engine about a machine that can be
// stopped and started, from the resource's value alone: a stopped machine
// has no address, so its layers are neither probed nor converged, and one
// that starts (or restarts) is waited for while it boots. The engine knows
// no attribute of its own; every function takes the resource's value.
type Power struct {
	// Stopped says the value describes a stopped machine.
	Stopped func(v cty.Value) bool
	// StopReason says who stopped a stopped machine and when, for the
	// plan ("" when unknown); nil: never known.
	StopReason func(v cty.Value) string
	// Start returns the value that asks for the machine to run, all else
	// as in v (mlops ssh -stdio waking a stopped machine).
	Start func(v cty.Value) cty.Value
	// Restarts says an update from before to after stops and starts the
	// machine (a change of instance type, on EC2); nil: never.
	Restarts func(before, after cty.Value) bool
}
