// Package plan decides what to change and carries it out. A Plan is plain
// data: a list of changes computed from the desired configuration and the
// observed (refreshed) state. Engine.Plan builds it, Engine.Apply walks it
// (hosts.go runs each host's layers); both call providers through their
// interface and report progress through Hooks. The
// package imports neither an SDK nor anything that writes to a terminal.
package plan

import (
	"sort"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/prices"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// Action is what a change does. Its rune is the symbol shown in plan output.
type Action rune

const (
	NoOp    Action = 0 // the zero value: nothing to do
	Create  Action = '+'
	Update  Action = '~'
	Replace Action = '±' // delete, then create
	Delete  Action = '-'
	Read    Action = '<'
)

// Symbol is how the action is drawn in front of a resource.
func (a Action) Symbol() string {
	switch a {
	case Replace:
		return "-/+"
	case NoOp:
		return " "
	}
	return string(a)
}

// Verb is the action in words, for "will be created" sentences and JSON.
func (a Action) Verb() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Replace:
		return "replace"
	case Delete:
		return "delete"
	case Read:
		return "read"
	}
	return "no-op"
}

// ParseAction is the inverse of Verb.
func ParseAction(s string) Action {
	for _, a := range []Action{Create, Update, Replace, Delete, Read} {
		if a.Verb() == s {
			return a
		}
	}
	return NoOp
}

// Change is the planned change of one resource (and of its layers).
type Change struct {
	Addr   addrs.Resource
	Action Action
	// Before is the refreshed state (null when the object does not exist).
	Before cty.Value
	// After is the planned state (null for delete); unknown parts are known after apply.
	After cty.Value
	// ReplacePaths are the attributes that force replacement.
	ReplacePaths []cty.Path
	// Reasons explain the action: "ami forces replacement", "it was deleted outside mlops".
	Reasons []string
	// Notes are consequences worth knowing: "the instance will restart".
	Notes []string
	// Layers are the layer changes of this resource's host, in config order.
	// Satisfied layers are present with Action NoOp.
	Layers []*LayerChange
	// HostNote says why layers were not probed ("instance is stopped").
	HostNote string
	// PreventDestroy is copied from the configuration for destroy checks.
	PreventDestroy bool
	// Dependencies are the resources this one depends on (from the configuration,
	// or from state for resources no longer configured).
	Dependencies []addrs.Resource
	// Loses says what a replacement of a converged host destroys, or what
	// deleting one that is no longer configured destroys; apply refuses it
	// unless the resource is among Plan.Replace (Plan.Deletes for a delete).
	Loses string
	// Sensitive lists the top-level attributes whose configured values
	// derive from a sensitive variable: views show them as SensitiveValue.
	Sensitive []string
}

// LayerChange is the planned change of one software layer.
type LayerChange struct {
	Addr    addrs.Layer
	Kind    string
	Action  Action
	Reasons []string
	// Digest of the layer's inputs as planned (empty for delete).
	Digest string
	// Reapply: the host satisfies the layer's probe, but its settings
	// changed since it was applied, so its action runs again.
	Reapply bool
	// Found is what the probe found on the host for the lock file.
	Found providers.LockFacts
	// Upgrade is what a probe with -upgrade found: the versions the host's
	// package lists offer (nil without -upgrade or without a probe).
	Upgrade *providers.UpgradeFacts
}

// OutputChange is the planned value of one output.
type OutputChange struct {
	Name      string
	Action    Action
	Before    cty.Value
	After     cty.Value
	Sensitive bool
}

// Plan is the result of planning. It is plain data and can be saved.
type Plan struct {
	// Destroy plans remove everything.
	Destroy bool
	// Upgrade plans re-resolve what the lock file pins (plan -upgrade).
	Upgrade bool
	Changes []*Change
	Outputs []*OutputChange
	// Lineage and Serial identify the state the plan was made against; a saved
	// plan is refused when the state moved on.
	Lineage string
	Serial  uint64
	// Variables are the variable values the plan was made with.
	Variables map[string]cty.Value
	// Replace are the resources the user named with -replace: replaced
	// even when nothing forces it, and allowed to be replaced when Loses.
	Replace []addrs.Resource
	// Deletes are the resources the user named with -delete: converged
	// machines no longer configured, allowed to be deleted (Loses).
	Deletes []addrs.Resource
	// Inputs are the files the plan was made from (set by the command that
	// saves it); nil in a plan that is not saved.
	Inputs *Inputs
	// HostKeys are the host keys seen at first contact with hosts that had
	// none pinned, by HostKeyID; apply demands the same keys.
	HostKeys map[string]string
	// Notes are things worth knowing that change nothing, such as a newer
	// image than the locked one.
	Notes []string
	// LockChanges are the entries of the lock file this plan resolves anew.
	LockChanges []*LockChange
	// Lock is the lock file as this plan resolved it (data sources); the
	// command writes it after an apply with nothing to change. Nil for a
	// destroy plan. It is not saved with the plan.
	Lock *lockfile.Lock
	// Costs estimates what the stack costs before and after the plan (nil
	// when it was not estimated). It is not saved with the plan.
	Costs *prices.Estimate
}

// Counts is the summary line's numbers.
type Counts struct{ Add, Change, Destroy int }

// Count returns how many resources will be added, changed and destroyed.
// Layer changes of an existing host count as changes of that host.
func (p *Plan) Count() Counts {
	var c Counts
	for _, ch := range p.Changes {
		switch ch.Action {
		case Create:
			c.Add++
		case Update:
			c.Change++
		case Replace:
			c.Add++
			c.Destroy++
		case Delete:
			c.Destroy++
		case NoOp:
			if ch.LayerActions() > 0 {
				c.Change++
			}
		}
	}
	return c
}

// LayerActions counts the layers that will be applied or removed.
func (c *Change) LayerActions() int {
	n := 0
	for _, l := range c.Layers {
		if l.Action != NoOp {
			n++
		}
	}
	return n
}

// HasChanges reports whether applying the plan would change anything,
// including outputs.
func (p *Plan) HasChanges() bool {
	for _, ch := range p.Changes {
		if ch.Action != NoOp || ch.LayerActions() > 0 {
			return true
		}
	}
	for _, o := range p.Outputs {
		if o.Action != NoOp {
			return true
		}
	}
	return false
}

// Change returns the change of addr, or nil.
func (p *Plan) Change(addr addrs.Resource) *Change {
	for _, c := range p.Changes {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

func sortChanges(cs []*Change) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Addr.String() < cs[j].Addr.String() })
}
