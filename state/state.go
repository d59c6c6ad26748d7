// Package state holds the recorded state of a stack: what mlops created, the
// attributes it last saw, the software layers it applied, and the outputs.
// It also keeps that record somewhere: a local file (Local) or an S3 object
// (S3), both behind the Store interface, which adds locking and refuses
// writes that would silently overwrite someone else's.
//
// The model is plain data that marshals to JSON. It knows nothing about cty
// schemas: attribute values are stored as the JSON the plan engine produced.
package state

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/addrs"
)

// FormatVersion is the state format this mlops reads and writes. Decode
// refuses states with a greater version, so an old mlops cannot drop fields
// a newer one recorded.
const FormatVersion = 1

// Resource modes, as recorded in Resource.Mode.
const (
	ModeManaged = "managed"
	ModeData    = "data"
)

// StatusTainted marks a resource whose creation failed half way: the object
// exists but is not trusted, so the next apply replaces it.
const StatusTainted = "tainted"

// State is the record of one stack.
type State struct {
	// Version is the format version, FormatVersion when written by this mlops.
	Version int `json:"version"`
	// Serial counts writes. Store.Write increments it; see Store.
	Serial uint64 `json:"serial"`
	// Lineage identifies the stack for its whole life. Two states with
	// different lineages describe different stacks and never replace each
	// other.
	Lineage      string `json:"lineage"`
	MlopsVersion string `json:"mlops_version,omitempty"`
	// Resources are sorted by Address, with no duplicates.
	Resources []*Resource        `json:"resources"`
	Outputs   map[string]*Output `json:"outputs,omitempty"`
}

// Resource is one managed resource or data source as last recorded.
type Resource struct {
	// Address is "aws_instance.web" or "data.aws_ami.ubuntu"; it agrees
	// with Mode, Type and Name.
	Address string `json:"address"`
	Mode    string `json:"mode"` // ModeManaged or ModeData
	Type    string `json:"type"`
	Name    string `json:"name"`
	ID      string `json:"id,omitempty"`
	// Attributes is the cty value as JSON, marshalled with the schema's type.
	Attributes   json.RawMessage `json:"attributes"`
	Dependencies []string        `json:"dependencies,omitempty"`
	// HostKey is the pinned SSH host public key in authorized_keys format.
	HostKey string `json:"host_key,omitempty"`
	// Layers are the software layers applied to this resource, in order.
	Layers []*Layer `json:"layers,omitempty"`
	// Status is "" for a healthy resource or StatusTainted.
	Status string `json:"status,omitempty"`
	// Sensitive lists the top-level attributes set from sensitive values;
	// their values are stored (as Terraform does) but never shown.
	Sensitive []string `json:"sensitive_attributes,omitempty"`
	// Key is the instance key of a resource with count or for_each: 0 or
	// "alice" in JSON. A resource without either has none, as in states
	// written before mlops had count and for_each.
	Key addrs.InstanceKey `json:"index_key,omitempty"`
}

// Layer is a software layer applied to a resource.
type Layer struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Digest summarises Config and whatever the layer kind hashes in, so a
	// changed digest means the layer must be applied again.
	Digest    string          `json:"digest"`
	Config    json.RawMessage `json:"config,omitempty"`
	AppliedAt time.Time       `json:"applied_at"`
}

// Output is a root output value as of the last apply.
type Output struct {
	Value json.RawMessage `json:"value"`
	// Type is the cty type as JSON (as ctyjson.MarshalType writes it).
	Type      json.RawMessage `json:"type,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// New returns an empty state of the current format with the given lineage
// and serial 0.
func New(lineage string) *State {
	return &State{Version: FormatVersion, Lineage: lineage, Resources: []*Resource{}}
}

// NewLineage returns a fresh random lineage in UUID version 4 form.
func NewLineage() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Addr returns the resource's address as an addrs value.
func (r *Resource) Addr() addrs.Resource {
	m := addrs.Managed
	if r.Mode == ModeData {
		m = addrs.Data
	}
	return addrs.Resource{Mode: m, Type: r.Type, Name: r.Name, Key: r.Key}
}

// ResourceFor returns an empty Resource whose Address, Mode, Type and Name
// agree with a.
func ResourceFor(a addrs.Resource) *Resource {
	mode := ModeManaged
	if a.Mode == addrs.Data {
		mode = ModeData
	}
	return &Resource{Address: a.String(), Mode: mode, Type: a.Type, Name: a.Name, Key: a.Key}
}

// Resource returns the resource at addr, or nil.
func (s *State) Resource(addr string) *Resource {
	if i, ok := s.find(addr); ok {
		return s.Resources[i]
	}
	return nil
}

// SetResource records r, replacing any resource at the same address and
// keeping Resources sorted. An empty r.Address is filled in from Mode, Type
// and Name.
func (s *State) SetResource(r *Resource) {
	if r.Address == "" {
		r.Address = r.Addr().String()
	}
	i, ok := s.find(r.Address)
	if ok {
		s.Resources[i] = r
		return
	}
	s.Resources = slices.Insert(s.Resources, i, r)
}

// RemoveResource forgets the resource at addr; it reports whether there was one.
func (s *State) RemoveResource(addr string) bool {
	i, ok := s.find(addr)
	if ok {
		s.Resources = slices.Delete(s.Resources, i, i+1)
	}
	return ok
}

func (s *State) find(addr string) (int, bool) {
	return slices.BinarySearchFunc(s.Resources, addr, func(r *Resource, a string) int {
		return strings.Compare(r.Address, a)
	})
}

// DeepCopy returns a copy that shares no memory with s.
func (s *State) DeepCopy() *State {
	if s == nil {
		return nil
	}
	c := *s
	if s.Resources != nil {
		c.Resources = make([]*Resource, len(s.Resources))
		for i, r := range s.Resources {
			c.Resources[i] = r.DeepCopy()
		}
	}
	if s.Outputs != nil {
		c.Outputs = make(map[string]*Output, len(s.Outputs))
		for k, o := range s.Outputs {
			if o == nil {
				c.Outputs[k] = nil
				continue
			}
			oc := *o
			oc.Value = cloneRaw(o.Value)
			oc.Type = cloneRaw(o.Type)
			c.Outputs[k] = &oc
		}
	}
	return &c
}

// DeepCopy returns a copy of r that shares no memory with it.
func (r *Resource) DeepCopy() *Resource {
	if r == nil {
		return nil
	}
	c := *r
	c.Attributes = cloneRaw(r.Attributes)
	c.Dependencies = slices.Clone(r.Dependencies)
	c.Sensitive = slices.Clone(r.Sensitive)
	if r.Layers != nil {
		c.Layers = make([]*Layer, len(r.Layers))
		for i, l := range r.Layers {
			if l == nil {
				continue
			}
			lc := *l
			lc.Config = cloneRaw(l.Config)
			c.Layers[i] = &lc
		}
	}
	return &c
}

func cloneRaw(m json.RawMessage) json.RawMessage {
	if m == nil {
		return nil
	}
	return slices.Clone(m)
}

// Encode renders s as indented JSON ending in a newline. The output depends
// only on the content: resources are sorted by address, map keys are sorted,
// and embedded JSON values are reformatted.
func (s *State) Encode() ([]byte, error) {
	c := *s
	c.Resources = slices.Clone(s.Resources)
	if c.Resources == nil {
		c.Resources = []*Resource{}
	}
	slices.SortStableFunc(c.Resources, func(a, b *Resource) int { return strings.Compare(a.Address, b.Address) })
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a state written by Encode. It refuses corrupt JSON, a format
// newer than FormatVersion, a missing lineage, unknown resource modes,
// addresses that disagree with their mode, type and name, and duplicate
// addresses. Embedded JSON values are compacted and resources sorted, so two
// decodes of equivalent files compare equal.
func Decode(data []byte) (*State, error) {
	// Look at the version first: a newer format may not even have the
	// shape this mlops expects, and "upgrade mlops" is the useful message.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, corrupt("%v", err)
	}
	switch {
	case head.Version == nil:
		return nil, corrupt("no format version")
	case *head.Version > FormatVersion:
		return nil, fmt.Errorf("state was written by a newer mlops (format %d); this mlops understands format %d", *head.Version, FormatVersion)
	case *head.Version < 1:
		return nil, corrupt("invalid format version %d", *head.Version)
	}

	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, corrupt("%v", err)
	}
	if s.Lineage == "" {
		return nil, corrupt("no lineage")
	}
	if s.Resources == nil {
		s.Resources = []*Resource{}
	}
	seen := make(map[string]bool, len(s.Resources))
	for i, r := range s.Resources {
		if r == nil {
			return nil, corrupt("resources[%d] is null", i)
		}
		if r.Mode != ModeManaged && r.Mode != ModeData {
			return nil, corrupt("resource %q has unknown mode %q", r.Address, r.Mode)
		}
		if want := r.Addr().String(); r.Address != want {
			return nil, corrupt("resource address %q does not match its mode, type and name (%s)", r.Address, want)
		}
		if seen[r.Address] {
			return nil, corrupt("resource %q appears more than once", r.Address)
		}
		seen[r.Address] = true
		r.Attributes = compactRaw(r.Attributes)
		for j, l := range r.Layers {
			if l == nil {
				return nil, corrupt("resource %q: layers[%d] is null", r.Address, j)
			}
			l.Config = compactRaw(l.Config)
		}
	}
	for name, o := range s.Outputs {
		if o == nil {
			return nil, corrupt("output %q is null", name)
		}
		o.Value = compactRaw(o.Value)
		o.Type = compactRaw(o.Type)
	}
	slices.SortFunc(s.Resources, func(a, b *Resource) int { return strings.Compare(a.Address, b.Address) })
	return &s, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("state file is corrupt: "+format, args...)
}

// compactRaw removes insignificant whitespace; m is valid JSON because it
// came out of json.Unmarshal.
func compactRaw(m json.RawMessage) json.RawMessage {
	if m == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, m); err != nil {
		return m
	}
	return b.Bytes()
}
