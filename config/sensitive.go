package config

import (
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// Sensitivity works as in Terraform: a variable declared sensitive = true
// enters every evaluation marked (cty marks), and the mark follows the value
// through expressions, functions, locals and templates. HCL stops here, and
// so do marks: the values handed out of this package (to providers, hosts,
// the plan) are unmarked, and what was marked is recorded instead, by
// resource attribute, layer and output, for the views to hide.

// sensitiveMark is the cty mark of a value derived from a sensitive variable.
type sensitiveMark struct{}

// sensitive is the only value of sensitiveMark.
var sensitive = sensitiveMark{}

// sensitivity records what evaluation found marked. Resources are evaluated
// in parallel during apply, hence the lock.
type sensitivity struct {
	mu        sync.Mutex
	resources map[addrs.Resource][]string // top-level attribute names
	layers    map[string]bool             // layer addresses
}

func (s *sensitivity) setResource(addr addrs.Resource, attrs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources == nil {
		s.resources = map[addrs.Resource][]string{}
	}
	if len(attrs) == 0 {
		delete(s.resources, addr)
		return
	}
	s.resources[addr] = attrs
}

func (s *sensitivity) resource(addr addrs.Resource) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resources[addr]
}

func (s *sensitivity) setLayer(addr string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.layers == nil {
		s.layers = map[string]bool{}
	}
	s.layers[addr] = on
}

// SensitiveAttributes returns the top-level attributes of a resource whose
// configured values derive from a sensitive variable (as found by its last
// evaluation), sorted.
func (c *Config) SensitiveAttributes(addr addrs.Resource) []string {
	if c.sens == nil {
		return nil
	}
	return c.sens.resource(addr)
}

// LayerSensitive reports whether a layer's settings derive from a sensitive
// variable: its remote output is then not shown.
func (c *Config) LayerSensitive(addr addrs.Layer) bool {
	if c.sens == nil {
		return false
	}
	c.sens.mu.Lock()
	defer c.sens.mu.Unlock()
	return c.sens.layers[addr.String()]
}

// unmarkResource strips the marks of a resource value and records which of
// its top-level attributes carried one.
func (c *Config) unmarkResource(addr addrs.Resource, v cty.Value) cty.Value {
	v, pvm := v.UnmarkDeepWithPaths()
	if c.sens != nil {
		c.sens.setResource(addr, topAttributes(pvm))
	}
	return v
}

// topAttributes lists the first attribute step of each marked path.
func topAttributes(pvm []cty.PathValueMarks) []string {
	seen := map[string]bool{}
	var out []string
	for _, pm := range pvm {
		if _, ok := pm.Marks[sensitive]; !ok || len(pm.Path) == 0 {
			continue
		}
		if ga, ok := pm.Path[0].(cty.GetAttrStep); ok && !seen[ga.Name] {
			seen[ga.Name] = true
			out = append(out, ga.Name)
		}
	}
	sort.Strings(out)
	return out
}

// markResource marks the attributes of a resource value that were found
// sensitive when its configuration was evaluated, so that expressions
// referring to them are sensitive too.
func (c *Config) markResource(addr addrs.Resource, v cty.Value) cty.Value {
	attrs := c.SensitiveAttributes(addr)
	if len(attrs) == 0 || v.IsNull() || !v.Type().IsObjectType() {
		return v
	}
	var m map[string]cty.Value
	if v.IsKnown() {
		m = v.AsValueMap()
	} else {
		// Not created yet: an object of unknown attributes, so that the
		// sensitive ones can carry their mark into what refers to them.
		m = map[string]cty.Value{}
		for n, ty := range v.Type().AttributeTypes() {
			m[n] = cty.UnknownVal(ty)
		}
	}
	for _, a := range attrs {
		if av, ok := m[a]; ok {
			m[a] = av.Mark(sensitive)
		}
	}
	return cty.ObjectVal(m)
}

// isSensitive reports whether v or any part of it derives from a sensitive
// variable.
func isSensitive(v cty.Value) bool {
	_, pvm := v.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		if _, ok := pm.Marks[sensitive]; ok {
			return true
		}
	}
	return false
}

// checkOutputSensitivity is Terraform's rule: an output whose value derives
// from a sensitive value must say sensitive = true, so that exporting a
// secret is always a decision written down.
func checkOutputSensitivity(o *Output, v cty.Value) *hcl.Diagnostic {
	if o.Sensitive || !isSensitive(v) {
		return nil
	}
	return errorf(o.expr.Range().Ptr(), "Output refers to sensitive values",
		"The value of output %q derives from a sensitive variable. To show it anyway (masked in plans and lists, in clear with mlops output -raw and -json), add sensitive = true to the output block.", o.Name)
}

// propagateSensitivity evaluates the resources again until the sensitive
// attributes they record stop changing: the load evaluates them in the
// order written, so a resource that refers to a sensitive attribute of one
// written after it saw no mark the first time. It reports whether anything
// changed (the caller's scope then holds stale locals). Without a
// sensitive variable there is nothing to propagate.
func (c *Config) propagateSensitivity() bool {
	found := false
	for _, v := range c.Variables {
		found = found || v.Sensitive
	}
	if !found {
		return false
	}
	changedOnce := false
	for pass := 0; pass <= len(c.eval.resourceOrder); pass++ {
		s := c.newScope(nil)
		changed := false
		for _, addr := range c.eval.resourceOrder {
			r := c.Resources[addr]
			before := c.SensitiveAttributes(addr)
			v, _ := s.body(r.content, r.Schema.ImpliedType(), cty.NilVal)
			c.unmarkResource(addr, v)
			if !slices.Equal(before, c.SensitiveAttributes(addr)) {
				changed = true
			}
		}
		if !changed {
			break
		}
		changedOnce = true
	}
	return changedOnce
}
