// Package providers defines the contract between the plan engine and the code
// that talks to the outside world: cloud APIs (providers/aws) and hosts over
// SSH (providers/host). Requests and responses are structs so that fields can
// be added without breaking implementations. Values are cty values that
// conform to the type's schema; providers never see HCL.
package providers

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// Provider manages resources and data sources of one kind of infrastructure.
//
// Diagnostics returned by a provider carry no source range; the plan engine
// attaches the range of the block they concern.
type Provider interface {
	// Schemas returns the provider block, resource and data source schemas.
	// It must not make any network call: validate uses it offline.
	Schemas() schema.Schemas
	// Configure receives the evaluated provider block. It must not make any
	// network call either; clients are created lazily.
	Configure(ctx context.Context, req ConfigureRequest) ConfigureResponse
	// ReadDataSource reads one data source.
	ReadDataSource(ctx context.Context, req ReadDataSourceRequest) ReadDataSourceResponse
	// Refresh reads the current state of many resources at once; providers
	// batch their API reads (one call per resource type, not per resource).
	Refresh(ctx context.Context, req RefreshRequest) RefreshResponse
	// PlanChange proposes the new state of one resource.
	PlanChange(ctx context.Context, req PlanChangeRequest) PlanChangeResponse
	// ApplyChange creates, updates or deletes one resource.
	ApplyChange(ctx context.Context, req ApplyChangeRequest) ApplyChangeResponse
	// Import reads an existing object by its ID so it can be put in state.
	Import(ctx context.Context, req ImportRequest) ImportResponse
}

// ConfigureRequest carries the evaluated provider block.
type ConfigureRequest struct {
	Config cty.Value
}

// ConfigureResponse reports configuration problems.
type ConfigureResponse struct {
	Diagnostics hcl.Diagnostics
}

// ReadDataSourceRequest asks for one data source.
type ReadDataSourceRequest struct {
	Addr   addrs.Resource
	Config cty.Value
}

// ReadDataSourceResponse carries the value read, conforming to the schema.
type ReadDataSourceResponse struct {
	State       cty.Value
	Diagnostics hcl.Diagnostics
}

// ResourceObject is one resource as recorded in state.
type ResourceObject struct {
	Addr addrs.Resource
	// State conforms to the resource type's schema.
	State cty.Value
}

// RefreshRequest lists the resources to read.
type RefreshRequest struct {
	Resources []ResourceObject
}

// RefreshResponse returns the current value of each requested resource, in
// the same order. A null value means the object no longer exists.
type RefreshResponse struct {
	States      []cty.Value
	Diagnostics hcl.Diagnostics
}

// PlanChangeRequest asks what it takes to move Prior to Config.
type PlanChangeRequest struct {
	Addr addrs.Resource
	// Prior is the refreshed state, or a null value when the object does not exist.
	Prior cty.Value
	// Config is the evaluated configuration; it may contain unknown values.
	Config cty.Value
	// Replace: the user named this resource for replacement (-replace), so
	// the object is planned as replaced even when nothing forces it.
	Replace bool
}

// PlanChangeResponse is the provider's proposal.
type PlanChangeResponse struct {
	// Planned is the expected new state, with unknown values for what only
	// the API can tell (ids, addresses).
	Planned cty.Value
	// RequiresReplace lists the attributes whose change forces replacement.
	RequiresReplace []cty.Path
	// Notes are shown under the change, e.g. "the instance will restart".
	Notes []string
	// ReplaceLoses says what replacing the object destroys, when it is
	// replaced ("the 30 GB root disk and everything on it ..."); empty when
	// a replacement loses nothing worth naming.
	ReplaceLoses string
	Diagnostics  hcl.Diagnostics
}

// ApplyChangeRequest carries out one change. Create: Prior is null.
// Delete: Planned is null. Update: neither is null.
type ApplyChangeRequest struct {
	Addr    addrs.Resource
	Prior   cty.Value
	Planned cty.Value
	// Config is the evaluated configuration, wholly known at apply time.
	Config cty.Value
	// Tags are put on every object the provider creates (mlops:stack, mlops:address).
	Tags map[string]string
	// Created is called as soon as the object exists (its ID is known), before
	// waiting for it to become ready, so the caller can record it in state.
	// It may be nil.
	Created func(partial cty.Value)
	// Progress reports a step, e.g. "waiting for instance running"; it may be nil.
	Progress func(msg string)
	// Replacing marks the delete half of a replacement: what the object
	// holds that is meant to outlive it (a data volume) is kept for the
	// new object instead of being deleted with it.
	Replacing bool
}

// ApplyChangeResponse carries the new state (null after delete). On error,
// NewState is the best known state: the object exists if it is not null.
type ApplyChangeResponse struct {
	NewState    cty.Value
	Diagnostics hcl.Diagnostics
}

// ImportRequest names an existing object.
type ImportRequest struct {
	Addr addrs.Resource
	ID   string
}

// ImportResponse carries its state.
type ImportResponse struct {
	State       cty.Value
	Diagnostics hcl.Diagnostics
}

// ErrorDiag builds a one-error diagnostics value.
func ErrorDiag(summary string, detail string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...)}}
}
