package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

type refKind int

const (
	refVar refKind = iota
	refLocal
	refResource
	refSelf
	refPath
)

// reference is one checked reference of an expression.
type reference struct {
	kind refKind
	name string         // variable or local name
	addr addrs.Resource // for refResource
	rng  hcl.Range
}

// refScope says which references an expression may make.
type refScope struct {
	// self is the resource that self refers to, inside ssh and layer blocks.
	self *Resource
	// owner is the resource whose block the expression is in: each and
	// count may be used there when it has for_each or count.
	owner *Resource
	// restricted names a place that may use only constants, variables,
	// path and locals that do not depend on resources ("provider
	// configuration"); "" means no such restriction.
	restricted string
}

// refChecker checks references and computes dependencies (loading phase 3).
type refChecker struct {
	*loader
	localRefs map[string][]reference
	localRes  map[string]map[addrs.Resource]bool
}

// checkReferences checks every reference of the configuration against its
// declarations and the schemas, and computes Resource.DependsOn and
// Output.DependsOn. Expressions with a bad reference are marked to be
// skipped by evaluation, so that a problem is reported once.
func (l *loader) checkReferences() {
	rc := &refChecker{loader: l, localRefs: map[string][]reference{}, localRes: map[string]map[addrs.Resource]bool{}}
	c := l.c
	for _, name := range c.eval.localOrder {
		rc.localRefs[name] = rc.refs(c.Locals[name].expr, refScope{})
	}
	for _, name := range c.eval.localOrder {
		rc.resourcesOfLocal(name, map[string]bool{})
	}

	for _, addr := range c.eval.resourceOrder {
		r := c.Resources[addr]
		deps := map[addrs.Resource]bool{}
		for _, a := range []*hcl.Attribute{r.forEach, r.count} {
			if a != nil {
				r.repDeps = map[addrs.Resource]bool{}
				for _, ref := range rc.refs(a.Expr, refScope{}) {
					rc.addDeps(r.repDeps, ref, r, a.Expr)
				}
				for d := range r.repDeps {
					deps[d] = true
				}
			}
		}
		r.content.expressions(func(e hcl.Expression) {
			for _, ref := range rc.refs(e, refScope{owner: r}) {
				rc.addDeps(deps, ref, r, e)
			}
		})
		if r.SSH != nil {
			for _, name := range sortedKeys(r.SSH.attrs) {
				for _, ref := range rc.refs(r.SSH.attrs[name].Expr, refScope{self: r, owner: r}) {
					rc.addDeps(deps, ref, nil, nil)
				}
			}
		}
		for _, ly := range r.Layers {
			ly.content.expressions(func(e hcl.Expression) {
				for _, ref := range rc.refs(e, refScope{self: r, owner: r}) {
					rc.addDeps(deps, ref, nil, nil)
				}
			})
		}
		for _, d := range r.dependsOn {
			if rc.checkDependsOn(d) {
				if d.addr == addr {
					l.errorf(d.rng.Ptr(), "Self-referential block", "%s cannot depend on itself.", addr)
				}
				deps[d.addr] = true
			}
		}
		delete(deps, addr)
		r.DependsOn = sortedAddrs(deps)
	}

	for _, name := range c.eval.outputOrder {
		o := c.Outputs[name]
		deps := map[addrs.Resource]bool{}
		for _, ref := range rc.refs(o.expr, refScope{}) {
			rc.addDeps(deps, ref, nil, nil)
		}
		for _, d := range o.dependsOn {
			if rc.checkDependsOn(d) {
				deps[d.addr] = true
			}
		}
		o.DependsOn = sortedAddrs(deps)
	}

	for _, name := range c.eval.providerOrder {
		c.Providers[name].content.expressions(func(e hcl.Expression) {
			rc.refs(e, refScope{restricted: "provider configuration"})
		})
	}
	for _, name := range sortedKeys(l.backendAttrs) {
		rc.refs(l.backendAttrs[name].Expr, refScope{restricted: "backend configuration"})
	}
}

// addDeps adds the resources that ref makes its block depend on. When owner
// is set, ref comes from owner's own attributes (expression e), where a
// reference to owner itself, directly or through a local, is an error.
func (rc *refChecker) addDeps(deps map[addrs.Resource]bool, ref reference, owner *Resource, e hcl.Expression) {
	switch ref.kind {
	case refResource:
		if owner != nil && ref.addr == owner.Addr {
			rc.errorf(ref.rng.Ptr(), "Self-referential block",
				"The configuration of %s cannot refer to the resource itself; only ssh and layer blocks can, through self.", owner.Addr)
			rc.c.eval.skip[e] = true
		}
		deps[ref.addr] = true
	case refLocal:
		for a := range rc.localRes[ref.name] {
			if owner != nil && a == owner.Addr {
				rc.errorf(ref.rng.Ptr(), "Self-referential block",
					"The configuration of %s cannot refer to the resource itself, as it does through local.%s.", owner.Addr, ref.name)
				rc.c.eval.skip[e] = true
			}
			deps[a] = true
		}
	}
}

// checkDependsOn reports a depends_on entry naming an undeclared resource.
func (rc *refChecker) checkDependsOn(d dependsOnRef) bool {
	if _, ok := rc.c.Resources[d.addr]; ok {
		return true
	}
	rc.errorf(d.rng.Ptr(), "Reference to undeclared resource",
		"depends_on names %s, which is not declared.%s", d.addr, didYouMean(d.addr.String(), rc.declaredAddrs()))
	return false
}

// resourcesOfLocal computes, with memoization, the resources a local refers
// to directly or through other locals. Cycles are reported by checkCycles.
func (rc *refChecker) resourcesOfLocal(name string, visiting map[string]bool) map[addrs.Resource]bool {
	if res, ok := rc.localRes[name]; ok {
		return res
	}
	if visiting[name] {
		return nil
	}
	visiting[name] = true
	res := map[addrs.Resource]bool{}
	for _, ref := range rc.localRefs[name] {
		switch ref.kind {
		case refResource:
			res[ref.addr] = true
		case refLocal:
			for a := range rc.resourcesOfLocal(ref.name, visiting) {
				res[a] = true
			}
		}
	}
	delete(visiting, name)
	rc.localRes[name] = res
	return res
}

func (rc *refChecker) declaredAddrs() []string {
	var s []string
	for _, a := range rc.c.eval.resourceOrder {
		s = append(s, a.String())
	}
	return s
}

// refs checks the references of expr and returns the valid ones.
func (rc *refChecker) refs(expr hcl.Expression, sc refScope) []reference {
	rc.splatForEach(expr)
	var out []reference
	bad := false
	for _, t := range expr.Variables() {
		ref, diag := rc.check(t, sc)
		if diag != nil {
			rc.diags = append(rc.diags, diag)
			bad = true
			continue
		}
		out = append(out, ref)
	}
	if bad {
		rc.c.eval.skip[expr] = true
	}
	return out
}

// step returns the name of an attribute step (or string index) i of t.
func step(t hcl.Traversal, i int) (string, hcl.Range, bool) {
	if len(t) <= i {
		return "", hcl.Range{}, false
	}
	switch s := t[i].(type) {
	case hcl.TraverseAttr:
		return s.Name, s.SrcRange, true
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString(), s.SrcRange, true
		}
	}
	return "", hcl.Range{}, false
}

// check checks one traversal.
func (rc *refChecker) check(t hcl.Traversal, sc refScope) (reference, *hcl.Diagnostic) {
	c := rc.c
	root := t.RootName()
	rng := t.SourceRange()
	switch root {
	case "var":
		name, _, ok := step(t, 1)
		if !ok {
			return reference{}, errorf(rng.Ptr(), "Invalid reference", "A reference to a variable has the form var.NAME, like var.region.")
		}
		if c.Variables[name] == nil {
			return reference{}, errorf(rng.Ptr(), "Reference to undeclared input variable",
				"An input variable named %q is not declared.%s Declare it with a variable block.", name, didYouMean(name, c.eval.variableOrder))
		}
		return reference{kind: refVar, name: name, rng: rng}, nil

	case "local":
		name, _, ok := step(t, 1)
		if !ok {
			return reference{}, errorf(rng.Ptr(), "Invalid reference", "A reference to a local value has the form local.NAME.")
		}
		if c.Locals[name] == nil {
			return reference{}, errorf(rng.Ptr(), "Reference to undeclared local value",
				"A local value named %q is not defined.%s Define it in a locals block.", name, didYouMean(name, c.eval.localOrder))
		}
		if sc.restricted != "" {
			if res := sortedAddrs(rc.localRes[name]); len(res) > 0 {
				return reference{}, errorf(rng.Ptr(), "Invalid reference",
					"The %s can use only constants, variables and locals that do not depend on resources; local.%s depends on %s.",
					sc.restricted, name, res[0])
			}
		}
		return reference{kind: refLocal, name: name, rng: rng}, nil

	case "self":
		if sc.self == nil {
			return reference{}, errorf(rng.Ptr(), `Invalid "self" reference`,
				"self can only be used inside ssh and layer blocks, where it means the resource that contains them.")
		}
		if d := rc.checkAttr(t, 1, sc.self.Addr, "self"); d != nil {
			return reference{}, d
		}
		return reference{kind: refSelf, rng: rng}, nil

	case "path":
		if name, _, ok := step(t, 1); !ok || name != "module" {
			return reference{}, errorf(rng.Ptr(), `Invalid "path" attribute`,
				"The only attribute of path is path.module, the configuration directory.")
		}
		return reference{kind: refPath, rng: rng}, nil

	case "data":
		typ, _, ok1 := step(t, 1)
		name, _, ok2 := step(t, 2)
		if !ok1 || !ok2 {
			return reference{}, errorf(rng.Ptr(), "Invalid reference",
				"A reference to a data source has the form data.TYPE.NAME, like data.aws_ami.ubuntu.")
		}
		return rc.checkResource(addrs.Resource{Mode: addrs.Data, Type: typ, Name: name}, t, 3, sc)

	case "count", "each":
		return rc.checkRepetitionRef(t, sc)

	case "module", "terraform":
		return reference{}, errorf(rng.Ptr(), "Invalid reference", "%q is not available in mlops configurations.", root)
	}

	name, _, ok := step(t, 1)
	if !ok {
		return reference{}, errorf(rng.Ptr(), "Invalid reference",
			"%q is not a reference mlops knows. Use var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME.%s",
			root, didYouMean(root, rc.rootNames()))
	}
	return rc.checkResource(addrs.Resource{Mode: addrs.Managed, Type: root, Name: name}, t, 2, sc)
}

// rootNames are the names a traversal may start with.
func (rc *refChecker) rootNames() []string {
	names := []string{"var", "local", "data", "path", "self"}
	seen := map[string]bool{}
	for _, a := range rc.c.eval.resourceOrder {
		if a.Mode == addrs.Managed && !seen[a.Type] {
			seen[a.Type] = true
			names = append(names, a.Type)
		}
	}
	return names
}

func (rc *refChecker) checkResource(addr addrs.Resource, t hcl.Traversal, attrStep int, sc refScope) (reference, *hcl.Diagnostic) {
	rng := t.SourceRange()
	if sc.restricted != "" {
		return reference{}, errorf(rng.Ptr(), "Invalid reference",
			"The %s can use only constants, variables and locals that do not depend on resources, not %s.", sc.restricted, addr)
	}
	if rc.c.Resources[addr] == nil {
		return reference{}, errorf(rng.Ptr(), "Reference to undeclared resource",
			"%s is not declared.%s", addr, didYouMean(addr.String(), rc.declaredAddrs()))
	}
	if rc.c.Resources[addr].Expanded() {
		if d := rc.checkInstanceRef(t, attrStep, addr); d != nil {
			return reference{}, d
		}
		return reference{kind: refResource, addr: addr, rng: rng}, nil
	}
	if d := rc.checkAttr(t, attrStep, addr, addr.String()); d != nil {
		return reference{}, d
	}
	return reference{kind: refResource, addr: addr, rng: rng}, nil
}

// checkAttr checks that step i of t, if any, names an attribute of the
// resource's schema. Deeper steps are checked by evaluation.
func (rc *refChecker) checkAttr(t hcl.Traversal, i int, addr addrs.Resource, what string) *hcl.Diagnostic {
	name, rng, ok := step(t, i)
	if !ok {
		return nil
	}
	r := rc.c.Resources[addr]
	ty := r.Schema.ImpliedType()
	if ty.HasAttribute(name) {
		return nil
	}
	var names []string
	for n := range ty.AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	if what != addr.String() {
		what = fmt.Sprintf("%s (a %s)", what, addr.Type)
	}
	return errorf(rng.Ptr(), "Unsupported attribute",
		"%s has no attribute named %q.%s", what, name, didYouMean(name, names))
}

func sortedAddrs(set map[addrs.Resource]bool) []addrs.Resource {
	if len(set) == 0 {
		return nil
	}
	out := make([]addrs.Resource, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// checkCycles reports cycles among locals and among resources.
func (l *loader) checkCycles() {
	c := l.c

	localEdges := map[string][]string{}
	for _, name := range c.eval.localOrder {
		for _, t := range c.Locals[name].expr.Variables() {
			if t.RootName() != "local" {
				continue
			}
			if n, _, ok := step(t, 1); ok && c.Locals[n] != nil {
				localEdges[name] = append(localEdges[name], n)
			}
		}
	}
	for _, cyc := range findCycles(c.eval.localOrder, localEdges) {
		names := make([]string, len(cyc))
		for i, n := range cyc {
			names[i] = "local." + n
		}
		l.errorf(c.Locals[cyc[0]].DeclRange.Ptr(), "Cycle in local values",
			"The local values refer to each other in a cycle: %s. Break the cycle.", strings.Join(names, " -> "))
		for _, n := range cyc {
			c.eval.skip[c.Locals[n].expr] = true
		}
	}

	var nodes []string
	byName := map[string]*Resource{}
	resEdges := map[string][]string{}
	for _, addr := range c.eval.resourceOrder {
		r := c.Resources[addr]
		nodes = append(nodes, addr.String())
		byName[addr.String()] = r
		for _, d := range r.DependsOn {
			resEdges[addr.String()] = append(resEdges[addr.String()], d.String())
		}
	}
	for _, cyc := range findCycles(nodes, resEdges) {
		l.errorf(byName[cyc[0]].DeclRange.Ptr(), "Dependency cycle",
			"These resources depend on each other in a cycle: %s. Remove a reference or a depends_on entry to break it.",
			strings.Join(cyc, " -> "))
	}
}

// findCycles returns one cycle for every strongly connected component of
// the graph that has one. A cycle is a path that starts and ends at the
// component's smallest node, e.g. [a b a]. Cycles are ordered by that node.
func findCycles(nodes []string, edges map[string][]string) [][]string {
	// Tarjan's algorithm.
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	var strong func(v string)
	strong = func(v string) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}

	var cycles [][]string
	for _, comp := range comps {
		sort.Strings(comp)
		start := comp[0]
		in := map[string]bool{}
		for _, n := range comp {
			in[n] = true
		}
		if len(comp) == 1 && !contains(edges[start], start) {
			continue
		}
		// Breadth-first search for the shortest way back to start.
		parent := map[string]string{}
		queue := []string{start}
		found := false
		for len(queue) > 0 && !found {
			v := queue[0]
			queue = queue[1:]
			next := append([]string(nil), edges[v]...)
			sort.Strings(next)
			for _, w := range next {
				if !in[w] {
					continue
				}
				if w == start {
					parent[start] = v
					found = true
					break
				}
				if _, seen := parent[w]; !seen {
					parent[w] = v
					queue = append(queue, w)
				}
			}
		}
		path := []string{start}
		for v := parent[start]; v != start; v = parent[v] {
			path = append(path, v)
		}
		path = append(path, start)
		// path is start, then the nodes backwards; reverse the inside.
		for i, j := 1, len(path)-2; i < j; i, j = i+1, j-1 {
			path[i], path[j] = path[j], path[i]
		}
		cycles = append(cycles, path)
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i][0] < cycles[j][0] })
	return cycles
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
