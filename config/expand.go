package config

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// This file holds count and for_each: one resource block that stands for
// several instances, aws_instance.box[0] or aws_instance.box["alice"]. The
// block is configured and referred to as a whole (its dependencies are the
// block's); plans and state hold its instances.

// Expanded reports whether the resource has count or for_each, so that it
// stands for instances with keys rather than one object.
func (r *Resource) Expanded() bool { return r.forEach != nil || r.count != nil }

// decodeRepetition reads the count and for_each arguments of a resource.
func (l *loader) decodeRepetition(r *Resource, content *hcl.BodyContent) {
	r.forEach = content.Attributes["for_each"]
	r.count = content.Attributes["count"]
	if r.forEach != nil && r.count != nil {
		l.errorf(r.count.NameRange.Ptr(), "Invalid combination of \"count\" and \"for_each\"",
			"A resource can have count or for_each, not both; for_each is at %s.", rangeString(r.forEach.NameRange))
		r.count = nil
	}
}

// expansion is the evaluated count or for_each of a resource.
type expansion struct {
	keys []addrs.InstanceKey
	// coll is the for_each value (each.value is looked up in it).
	coll cty.Value
	// known is false when the value is not known yet; diags then say so.
	known   bool
	unknown bool // the only problem is that the value is not known yet
	diags   hcl.Diagnostics
}

// expand evaluates the count or for_each of r once per scope.
func (s *scope) expand(r *Resource) *expansion {
	if e, ok := s.expansions[r.Addr]; ok {
		return e
	}
	if s.expansions == nil {
		s.expansions = map[addrs.Resource]*expansion{}
	}
	e := &expansion{}
	s.expansions[r.Addr] = e
	switch {
	case r.forEach != nil:
		e.forEach(s, r.forEach)
	case r.count != nil:
		e.countOf(s, r.count)
	default:
		e.keys, e.known = []addrs.InstanceKey{addrs.NoKey}, true
	}
	return e
}

func (e *expansion) fail(a *hcl.Attribute, summary, format string, args ...any) {
	e.diags = append(e.diags, errorf(a.Expr.Range().Ptr(), summary, format, args...))
}

func (e *expansion) forEach(s *scope, a *hcl.Attribute) {
	v, diags := s.expr(a.Expr)
	e.diags = append(e.diags, diags...)
	if diags.HasErrors() || s.c.eval.skip[a.Expr] {
		return
	}
	v, _ = v.UnmarkDeep()
	ty := v.Type()
	switch {
	case !v.IsKnown() || ty == cty.DynamicPseudoType || (ty.IsSetType() && !v.IsWhollyKnown()):
		e.unknown = true
		e.fail(a, "Invalid for_each argument",
			"The for_each value is known only after apply, but mlops must know the instances to plan them. Use a value known in advance: a variable, a local, or keys you write out.")
		return
	case v.IsNull():
		e.fail(a, "Invalid for_each argument", "The for_each value is null; use a map or a set of strings (an empty one for no instance).")
		return
	case ty.IsListType() || ty.IsTupleType():
		detail := fmt.Sprintf("for_each takes a map or a set of strings, not a %s: a list may repeat a value, and its order would decide nothing. Convert it with toset(...).", ty.FriendlyName())
		if dup, ok := firstDuplicate(v); ok {
			detail += fmt.Sprintf(" This one has %s more than once.", dup)
		}
		e.fail(a, "Invalid for_each argument", "%s", detail)
		return
	case ty.IsSetType():
		if !ty.ElementType().Equals(cty.String) {
			e.fail(a, "Invalid for_each argument", "for_each takes a set of strings, not a %s.", ty.FriendlyName())
			return
		}
		for it := v.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			if k.IsNull() {
				e.fail(a, "Invalid for_each argument", "The for_each set holds a null value; every key must be a string.")
				return
			}
			e.keys = append(e.keys, addrs.StringKey(k.AsString()))
		}
	case ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			e.keys = append(e.keys, addrs.StringKey(k.AsString()))
		}
	default:
		e.fail(a, "Invalid for_each argument", "for_each takes a map or a set of strings, not a %s.", ty.FriendlyName())
		return
	}
	sort.Slice(e.keys, func(i, j int) bool { return e.keys[i] < e.keys[j] })
	e.coll, e.known = v, true
}

// firstDuplicate returns the first element of a list that appears twice.
func firstDuplicate(v cty.Value) (string, bool) {
	if !v.IsWhollyKnown() {
		return "", false
	}
	var seen []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, x := it.Element()
		for _, y := range seen {
			if x.Type().Equals(y.Type()) && x.RawEquals(y) {
				if x.Type() == cty.String {
					return quoteClipped(x.AsString(), 40), true
				}
				return "a value", true
			}
		}
		seen = append(seen, x)
	}
	return "", false
}

func (e *expansion) countOf(s *scope, a *hcl.Attribute) {
	v, diags := s.expr(a.Expr)
	e.diags = append(e.diags, diags...)
	if diags.HasErrors() || s.c.eval.skip[a.Expr] {
		return
	}
	v, _ = v.UnmarkDeep()
	n, err := convert.Convert(v, cty.Number)
	switch {
	case err != nil:
		e.fail(a, "Invalid count argument", "count must be a whole number: %s.", conversionError(err))
		return
	case !n.IsKnown():
		e.unknown = true
		e.fail(a, "Invalid count argument",
			"The count value is known only after apply, but mlops must know the instances to plan them. Use a value known in advance, such as a variable.")
		return
	case n.IsNull():
		e.fail(a, "Invalid count argument", "count cannot be null; use 0 for no instance.")
		return
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact || i < 0 || i > 1000 {
		e.fail(a, "Invalid count argument", "count must be a whole number from 0 to 1000, not %s.", bigText(n.AsBigFloat()))
		return
	}
	for k := 0; k < int(i); k++ {
		e.keys = append(e.keys, addrs.IntKey(k))
	}
	e.known = true
}

// instance sets each or count for evaluating instance key of r. With no
// key, a resource with for_each or count is evaluated for all its
// instances at once (validation): each and count are then unknown.
func (s *scope) instance(r *Resource, key addrs.InstanceKey) {
	switch {
	case r.forEach != nil:
		ev := cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})
		if key != addrs.NoKey {
			value := cty.DynamicVal
			if e := s.expand(r); e.known {
				k := cty.StringVal(key.Str())
				switch ty := e.coll.Type(); {
				case ty.IsSetType():
					value = k
				case ty.IsObjectType():
					if ty.HasAttribute(key.Str()) {
						value = e.coll.GetAttr(key.Str())
					}
				case e.coll.HasIndex(k).True():
					value = e.coll.Index(k)
				}
			}
			ev = cty.ObjectVal(map[string]cty.Value{"key": key.Value(), "value": value})
		}
		s.each = ev
	case r.count != nil:
		idx := cty.UnknownVal(cty.Number)
		if key.IsInt() {
			idx = key.Value()
		}
		s.count = cty.ObjectVal(map[string]cty.Value{"index": idx})
	}
}

// instancesValue is the value of a reference to a whole resource with
// count or for_each: a tuple of its instances (count) or an object keyed
// by for_each key, each instance its value in vals or unknown.
func (s *scope) instancesValue(r *Resource) cty.Value {
	e := s.expand(r)
	if !e.known {
		return cty.DynamicVal
	}
	unknown := cty.UnknownVal(r.Schema.ImpliedType())
	if r.count != nil {
		elems := make([]cty.Value, 0, len(e.keys))
		for _, k := range e.keys {
			v, ok := s.vals[r.Addr.Instance(k)]
			if !ok || v == cty.NilVal {
				v = unknown
			}
			elems = append(elems, v)
		}
		return cty.TupleVal(elems)
	}
	attrs := make(map[string]cty.Value, len(e.keys))
	for _, k := range e.keys {
		v, ok := s.vals[r.Addr.Instance(k)]
		if !ok || v == cty.NilVal {
			v = unknown
		}
		attrs[k.Str()] = v
	}
	return cty.ObjectVal(attrs)
}

// checkRepetition reports a bad count or for_each at load (validate and
// every command) and sets each and count for validating the resource's
// body. A value known only from resources is checked again by Expand at
// plan time; so is one from a variable without value during validate.
func (l *loader) checkRepetition(s *scope, r *Resource) {
	if !r.Expanded() {
		return
	}
	e := s.expand(r)
	a := r.forEach
	if a == nil {
		a = r.count
	}
	switch {
	case !e.unknown || (!l.opts.AllowUnsetVariables && !refersToResources(a.Expr)):
		l.diags = append(l.diags, e.diags...)
	case !l.opts.AllowUnsetVariables || !l.mayUseUnsetVariables(a.Expr):
		// Known only from resources: evaluate it as the plan will, with
		// their configured attributes known and the computed ones not.
		if vals, ok := l.plannedGuess(r.repDeps); ok {
			if e := l.c.newScope(vals).expand(r); e.unknown {
				l.diags = append(l.diags, e.diags...)
			}
		}
	}
	s.instance(r, addrs.NoKey)
}

// mayUseUnsetVariables reports whether an expression may depend on a
// variable without value (validate leaves those unknown): directly, or
// through a local.
func (l *loader) mayUseUnsetVariables(e hcl.Expression) bool {
	for _, t := range e.Variables() {
		switch t.RootName() {
		case "local":
			return true
		case "var":
			if name, _, ok := step(t, 1); ok && l.c.Variables[name] != nil && l.c.Variables[name].Value == cty.NilVal {
				return true
			}
		}
	}
	return false
}

// plannedGuess returns the values that the resources deps will have when
// planned for creation: their configuration, with every attribute the
// provider sets unknown. ok is false when that cannot be known before the
// plan: a data source (read at plan time), a resource with count or
// for_each, or one that does not evaluate.
func (l *loader) plannedGuess(deps map[addrs.Resource]bool) (Values, bool) {
	vals := Values{}
	for addr := range deps {
		r := l.c.Resources[addr]
		if r == nil || addr.Mode != addrs.Managed || r.Expanded() {
			return nil, false
		}
		v, diags := l.c.EvalResource(addr, nil)
		if diags.HasErrors() || v.IsNull() || !v.Type().IsObjectType() {
			return nil, false
		}
		attrs := v.AsValueMap()
		for name, a := range r.Schema.Attributes {
			if a.Computed && (!a.Optional || attrs[name].IsNull()) {
				attrs[name] = cty.UnknownVal(attrs[name].Type())
			}
		}
		vals[addr] = cty.ObjectVal(attrs)
	}
	return vals, true
}

// refersToResources reports whether an expression refers to anything
// whose value is known only at plan time: a resource, a data source or a
// local (which may refer to either).
func refersToResources(e hcl.Expression) bool {
	for _, t := range e.Variables() {
		if root := t.RootName(); root != "var" && root != "path" {
			return true
		}
	}
	return false
}

// Expand returns the instances of the resource block addr given the values
// known so far: addr itself for a resource without count or for_each, one
// address per key otherwise. A count or for_each that is not known yet, or
// is not a whole number, a map or a set of strings, is an error with its
// source range.
func (c *Config) Expand(addr addrs.Resource, vals Values) ([]addrs.Resource, hcl.Diagnostics) {
	r := c.Resources[addr.NoKey()]
	if r == nil {
		return nil, hcl.Diagnostics{errorf(nil, "Unknown resource", "%s is not declared in the configuration.", addr)}
	}
	s := c.newScope(vals)
	e := s.expand(r)
	if !e.known {
		return nil, s.withLocals(e.diags)
	}
	out := make([]addrs.Resource, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, r.Addr.Instance(k))
	}
	return out, s.withLocals(e.diags)
}

// checkRepetitionRef checks a reference to each (each.key, each.value) or
// count (count.index): only inside a resource with for_each or count.
func (rc *refChecker) checkRepetitionRef(t hcl.Traversal, sc refScope) (reference, *hcl.Diagnostic) {
	root := t.RootName()
	rng := t.SourceRange()
	attr, _, _ := step(t, 1)
	switch {
	case root == "each" && (sc.owner == nil || sc.owner.forEach == nil):
		return reference{}, errorf(rng.Ptr(), `Reference to "each" in context without for_each`,
			"each.key and each.value can be used only in a resource block with for_each (its arguments, ssh and layer blocks).")
	case root == "count" && (sc.owner == nil || sc.owner.count == nil):
		return reference{}, errorf(rng.Ptr(), `Reference to "count" in non-counted context`,
			"count.index can be used only in a resource block with count (its arguments, ssh and layer blocks).")
	case root == "each" && attr != "key" && attr != "value":
		return reference{}, errorf(rng.Ptr(), `Invalid "each" attribute`, "each has two attributes: each.key and each.value.")
	case root == "count" && attr != "index":
		return reference{}, errorf(rng.Ptr(), `Invalid "count" attribute`, "count has one attribute: count.index.")
	}
	return reference{kind: refPath, rng: rng}, nil
}

// checkInstanceRef checks a reference to a resource with count or
// for_each: either the whole resource (aws_instance.box, for a for
// expression, a splat or values()) or one instance, aws_instance.box[0] or
// aws_instance.box["alice"], then an attribute of its schema.
func (rc *refChecker) checkInstanceRef(t hcl.Traversal, i int, addr addrs.Resource) *hcl.Diagnostic {
	if len(t) <= i {
		return nil
	}
	if _, ok := t[i].(hcl.TraverseIndex); ok {
		return rc.checkAttr(t, i+1, addr, addr.String()+"[...]")
	}
	name, rng, _ := step(t, i)
	r := rc.c.Resources[addr]
	how := `aws_instance.box["KEY"]`
	if r.count != nil {
		how = "aws_instance.box[INDEX]"
	}
	return errorf(rng.Ptr(), "Missing resource instance key",
		"%s has %s, so it stands for several instances: refer to one of them, like %s.%s, or to all of them, like [for k, x in %s : x.%s].",
		addr, map[bool]string{true: "count", false: "for_each"}[r.count != nil], strings.Replace(how, "aws_instance.box", addr.String(), 1), name, addr, name)
}

// splatForEach lets a splat work on a resource with for_each,
// aws_instance.box[*].public_ip, as it does on one with count: HCL splats
// only lists and tuples, and the instances of a for_each resource are an
// object keyed by for_each key, so the splat's source becomes
// values(aws_instance.box): the instances ordered by key.
func (rc *refChecker) splatForEach(expr hcl.Expression) {
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return
	}
	_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		sp, ok := n.(*hclsyntax.SplatExpr)
		if !ok {
			return nil
		}
		st, ok := sp.Source.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
			return nil
		}
		addr, ok := resourceAddr(st.Traversal)
		if r := rc.c.Resources[addr]; ok && r != nil && r.forEach != nil {
			rng := st.SrcRange
			sp.Source = &hclsyntax.FunctionCallExpr{Name: "values", Args: []hclsyntax.Expression{st},
				NameRange: rng, OpenParenRange: rng, CloseParenRange: rng}
		}
		return nil
	})
}
