package providers

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// ConfigValidator is implemented by providers whose resources have checks
// that need no API call: conflicting or missing arguments, values that do
// not parse. `mlops validate` runs them offline, before any plan; PlanChange
// must run the same checks, so plan and validate reject the same
// configurations. A provider without such checks need not implement it.
type ConfigValidator interface {
	// ValidateResourceConfig checks one resource's evaluated configuration.
	// It must not make any network call. Config may contain unknown values
	// (variables without values, references to other resources): only
	// known values are checked.
	ValidateResourceConfig(req ValidateResourceConfigRequest) ValidateResourceConfigResponse
}

// ValidateResourceConfigRequest carries one resource's configuration.
type ValidateResourceConfigRequest struct {
	Addr   addrs.Resource
	Config cty.Value
}

// ValidateResourceConfigResponse reports the problems found. A diagnostic
// about one argument sets Extra to AttributeDiag so that the engine points
// at that argument's line rather than at the block.
type ValidateResourceConfigResponse struct {
	Diagnostics hcl.Diagnostics
}

// AttributeDiag, as a diagnostic's Extra, names the argument it is about.
type AttributeDiag struct {
	Name string
}

// AttributeError builds a diagnostic about the argument name.
func AttributeError(name, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Extra: AttributeDiag{Name: name}}
}
