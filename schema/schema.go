// Package schema describes the shape of resource, data source and layer
// blocks: which attributes they take, their types, which are computed by the
// provider and which force replacement. It is plain data: config uses it to
// decode and validate HCL, providers use it to type their values, plan uses it
// to decide actions and render diffs. It imports neither HCL nor any SDK.
package schema

import (
	"sort"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// Attribute describes one attribute of a block.
type Attribute struct {
	Type cty.Type
	// Required attributes must be set in configuration; Optional ones may be.
	// An attribute that is neither is Computed only: set by the provider.
	Required bool
	Optional bool
	// Computed attributes are (also) set by the provider. An Optional and
	// Computed attribute takes the provider's value when not configured.
	Computed bool
	// Default is used when an Optional attribute is not configured (cty.NilVal: none).
	Default cty.Value
	// ForceNew means a change to this attribute replaces the object.
	ForceNew bool
	// Sensitive values are never rendered in plans or logs.
	Sensitive bool
	// DigestInState: the state records only a digest of the value (a file
	// layer's content, a shell layer's commands), never the value.
	DigestInState bool
	// Validate checks a wholly known, non-null value before any API call.
	// The error text is shown to the user as the diagnostic detail.
	Validate func(cty.Value) error
	// Description is shown in documentation.
	Description string
}

// Nesting says how many of a nested block may appear.
type Nesting int

const (
	// NestingSingle is a block that appears at most once; its value is an object (null when absent).
	NestingSingle Nesting = iota
	// NestingList is a block that may repeat; its value is a list of objects.
	NestingList
)

// NestedBlock is a block type inside another block.
type NestedBlock struct {
	Block
	Nesting  Nesting
	MinItems int
	MaxItems int // 0 means no limit
	ForceNew bool
}

// Block describes the body of a block: attributes and nested blocks. A Block
// must not be changed once ImpliedType has been called (it keeps the type),
// nor copied: share it by pointer.
type Block struct {
	Attributes  map[string]*Attribute
	BlockTypes  map[string]*NestedBlock
	Description string

	implied     sync.Once
	impliedType cty.Type
}

// ImpliedType is the cty object type of a value conforming to the block. It
// is computed on the first call and kept: evaluation and planning ask for it
// for every value they build. Safe for concurrent use.
func (b *Block) ImpliedType() cty.Type {
	b.implied.Do(func() { b.impliedType = b.impliedTypeNow() })
	return b.impliedType
}

func (b *Block) impliedTypeNow() cty.Type {
	atys := map[string]cty.Type{}
	for n, a := range b.Attributes {
		atys[n] = a.Type
	}
	for n, nb := range b.BlockTypes {
		et := nb.Block.ImpliedType()
		if nb.Nesting == NestingList {
			atys[n] = cty.List(et)
		} else {
			atys[n] = et
		}
	}
	return cty.Object(atys)
}

// AttributeNames returns the attribute names, sorted.
func (b *Block) AttributeNames() []string {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BlockTypeNames returns the nested block type names, sorted.
func (b *Block) BlockTypeNames() []string {
	names := make([]string, 0, len(b.BlockTypes))
	for n := range b.BlockTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resource is the schema of one resource or data source type.
type Resource struct {
	Block
	// IDAttr names the attribute holding the object's identifier (usually "id").
	IDAttr string
	// SSH says the resource accepts an ssh block and layer blocks: it is a host
	// that mlops converges after it exists.
	SSH bool
	// Existing says the machine exists before mlops records the resource
	// (an existing host, not a new instance): its layers are probed even in
	// the plan that first creates the resource.
	Existing bool
	// HostSteps derives from a resource's value the steps it asks of its
	// host before the configured layers (mounting its data volume); nil or
	// an empty result: none. Steps are probed and converged like layers.
	HostSteps func(v cty.Value) []HostStep
	// Power, when set, says the resource is a machine that can be stopped
	// and started (see Power); nil: a machine that is always up.
	Power *Power
}

// HostStep is a step a resource asks of its own host: a layer of a kind that
// configurations cannot declare, whose settings come from the resource.
type HostStep struct {
	// Name is the step's layer name (its address: TYPE.NAME.layer.Name).
	Name string
	// Kind is the layer kind that carries it out.
	Kind string
	// Config is the kind's configuration; unknown parts are known after apply.
	Config cty.Value
}

// Layer is the schema of one layer kind, such as "apt" or "docker".
type Layer struct {
	Block
	Description string
}

// Schemas is everything the configuration language knows about types.
type Schemas struct {
	Provider    map[string]*Block    // provider name -> provider block
	Resources   map[string]*Resource // resource type -> schema
	DataSources map[string]*Resource // data source type -> schema
	Layers      map[string]*Layer    // layer kind -> schema
}
