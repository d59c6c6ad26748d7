package plan

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
)

// Hooks receive progress events from planning and applying. The views
// implement them; the engine never prints. Calls may come from several
// goroutines at once.
type Hooks interface {
	// Refreshing is called once per recorded resource before the batched refresh.
	Refreshing(addr addrs.Resource, id string)
	// Probing is called before the layers of a host are probed.
	Probing(host addrs.Resource, target string)
	// PreApply is called before a resource operation starts.
	PreApply(addr addrs.Resource, action Action, id string)
	// Progress reports a step inside an operation.
	Progress(addr addrs.Resource, msg string)
	// StillApplying is called periodically while an operation runs.
	StillApplying(addr addrs.Resource, action Action, elapsed time.Duration)
	// PostApply is called when a resource operation ended.
	PostApply(addr addrs.Resource, action Action, id string, elapsed time.Duration, diags hcl.Diagnostics)
	// LayerStart is called before a layer is applied or removed.
	LayerStart(addr addrs.Layer, action Action)
	// LayerOutput delivers one line of remote output.
	LayerOutput(addr addrs.Layer, line string)
	// LayerStill is called periodically while a layer runs.
	LayerStill(addr addrs.Layer, action Action, elapsed time.Duration)
	// LayerDone is called when a layer finished; diags is empty on success.
	LayerDone(addr addrs.Layer, action Action, elapsed time.Duration, diags hcl.Diagnostics)
}

// NoHooks ignores every event.
type NoHooks struct{}

func (NoHooks) Refreshing(addrs.Resource, string)                                        {}
func (NoHooks) Probing(addrs.Resource, string)                                           {}
func (NoHooks) PreApply(addrs.Resource, Action, string)                                  {}
func (NoHooks) Progress(addrs.Resource, string)                                          {}
func (NoHooks) StillApplying(addrs.Resource, Action, time.Duration)                      {}
func (NoHooks) PostApply(addrs.Resource, Action, string, time.Duration, hcl.Diagnostics) {}
func (NoHooks) LayerStart(addrs.Layer, Action)                                           {}
func (NoHooks) LayerOutput(addrs.Layer, string)                                          {}
func (NoHooks) LayerStill(addrs.Layer, Action, time.Duration)                            {}
func (NoHooks) LayerDone(addrs.Layer, Action, time.Duration, hcl.Diagnostics)            {}
