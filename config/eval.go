package config

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// evaluator holds what evaluation needs: variable values, locals, functions.
type evaluator struct {
	schemas schema.Schemas
	home    string // for ~ in paths; "" when unknown
	funcs   map[string]function.Function
	// skip holds expressions whose references were reported as wrong at
	// load; they evaluate as unknown instead of failing a second time.
	skip map[hcl.Expression]bool

	// Declaration orders, for stable evaluation and diagnostics.
	variableOrder []string
	localOrder    []string
	providerOrder []string
	outputOrder   []string
	resourceOrder []addrs.Resource
}

// scope is one evaluation: the resource values it was given and the locals
// computed so far. Locals are evaluated when first needed, once per scope.
type scope struct {
	c      *Config
	vals   Values
	locals map[string]cty.Value
	busy   map[string]bool
	diags  hcl.Diagnostics // problems of the locals evaluated
	vars   cty.Value
	// each and count are the each and count objects of the resource
	// instance being evaluated; cty.NilVal outside one.
	each, count cty.Value
	expansions  map[addrs.Resource]*expansion
}

func (c *Config) newScope(vals Values) *scope {
	if c.eval == nil {
		c.eval = &evaluator{skip: map[hcl.Expression]bool{}}
	}
	return &scope{c: c, vals: vals, locals: map[string]cty.Value{}, busy: map[string]bool{}}
}

// context builds the evaluation context for expressions with the given
// references: all variables, the locals they need, the resources and data
// sources they refer to (each its value in vals, or unknown), path.module,
// and self when it is not cty.NilVal.
func (s *scope) context(travs []hcl.Traversal, self cty.Value) *hcl.EvalContext {
	if s.vars == cty.NilVal {
		vars := map[string]cty.Value{}
		for name, v := range s.c.Variables {
			switch {
			case v.Value == cty.NilVal:
				vars[name] = cty.DynamicVal
			case v.Sensitive:
				vars[name] = v.Value.Mark(sensitive)
			default:
				vars[name] = v.Value
			}
		}
		s.vars = cty.ObjectVal(vars)
	}
	locals := map[string]cty.Value{}
	for _, t := range travs {
		if t.RootName() != "local" {
			continue
		}
		if name, _, ok := step(t, 1); ok && s.c.Locals[name] != nil {
			locals[name] = s.local(name)
		}
	}
	vars := s.resourceValues(travs)
	vars["var"] = s.vars
	vars["local"] = cty.ObjectVal(locals)
	vars["path"] = cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(s.c.Dir)})
	if self != cty.NilVal {
		vars["self"] = self
	}
	if s.each != cty.NilVal {
		vars["each"] = s.each
	}
	if s.count != cty.NilVal {
		vars["count"] = s.count
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.c.eval.funcs}
}

// resourceValues builds the root objects for the resources that travs refer
// to: TYPE for managed resources (TYPE.NAME) and "data" for data sources
// (data.TYPE.NAME), each holding only the resources referenced. Building
// every resource's value for every expression made evaluating a
// configuration quadratic in its number of resources. References of another
// form, or to undeclared resources, were reported at load and their
// expressions are never evaluated: they are left out.
func (s *scope) resourceValues(travs []hcl.Traversal) map[string]cty.Value {
	managed, data := map[string]map[string]cty.Value{}, map[string]map[string]cty.Value{}
	for _, t := range travs {
		addr := addrs.Resource{Mode: addrs.Managed, Type: t.RootName()}
		m, i := managed, 1
		switch addr.Type {
		case "var", "local", "path", "self":
			continue
		case "data":
			typ, _, ok := step(t, 1)
			if !ok {
				continue
			}
			addr.Mode, addr.Type = addrs.Data, typ
			m, i = data, 2
		}
		name, _, ok := step(t, i)
		if !ok {
			continue
		}
		addr.Name = name
		r := s.c.Resources[addr]
		if r == nil {
			continue
		}
		v, ok := s.vals[addr]
		if r.Expanded() {
			v, ok = s.instancesValue(r), true
		}
		if !ok || v == cty.NilVal {
			v = cty.UnknownVal(r.Schema.ImpliedType())
		}
		v = s.c.markResource(addr, v)
		if m[addr.Type] == nil {
			m[addr.Type] = map[string]cty.Value{}
		}
		m[addr.Type][addr.Name] = v
	}
	out := make(map[string]cty.Value, len(managed)+5)
	for typ, names := range managed {
		out[typ] = cty.ObjectVal(names)
	}
	dataTypes := make(map[string]cty.Value, len(data))
	for typ, names := range data {
		dataTypes[typ] = cty.ObjectVal(names)
	}
	out["data"] = cty.ObjectVal(dataTypes)
	return out
}

// local returns the value of a local, evaluating it (and the locals it
// needs) on first use. A local in a cycle evaluates as unknown.
func (s *scope) local(name string) cty.Value {
	if v, ok := s.locals[name]; ok {
		return v
	}
	l := s.c.Locals[name]
	if l == nil || s.busy[name] || s.c.eval.skip[l.expr] {
		return cty.DynamicVal
	}
	s.busy[name] = true
	ctx := s.context(l.expr.Variables(), cty.NilVal)
	v, diags := l.expr.Value(ctx)
	delete(s.busy, name)
	s.diags = append(s.diags, diags...)
	if diags.HasErrors() {
		v = cty.DynamicVal
	}
	s.locals[name] = v
	return v
}

// body evaluates a decoded body; a nil body (not decodable) is unknown.
func (s *scope) body(db *decodedBody, ty cty.Type, self cty.Value) (cty.Value, hcl.Diagnostics) {
	if db == nil {
		return cty.UnknownVal(ty), nil
	}
	return db.value(s.context(db.traversals(), self), s.c.eval.skip)
}

// expr evaluates a free-standing expression (an output value).
func (s *scope) expr(e hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if s.c.eval.skip[e] {
		return cty.DynamicVal, nil
	}
	v, diags := e.Value(s.context(e.Variables(), cty.NilVal))
	if diags.HasErrors() {
		v = cty.DynamicVal
	}
	return v, diags
}

// withLocals puts the problems of the locals evaluated first.
func (s *scope) withLocals(diags hcl.Diagnostics) hcl.Diagnostics {
	return append(append(hcl.Diagnostics(nil), s.diags...), diags...)
}

// EvalProvider evaluates a provider block (variables and locals only). A
// provider known to the schemas but not configured evaluates as an empty
// block (defaults and nulls); an error says so when it has required
// arguments.
func (c *Config) EvalProvider(name string) (cty.Value, hcl.Diagnostics) {
	s := c.newScope(nil)
	p := c.Providers[name]
	if p == nil {
		sch := c.eval.schemas.Provider[name]
		if sch == nil {
			return cty.DynamicVal, hcl.Diagnostics{errorf(nil, "Unknown provider", "There is no provider named %q.", name)}
		}
		var diags hcl.Diagnostics
		for _, n := range sch.AttributeNames() {
			if sch.Attributes[n].Required {
				diags = append(diags, errorf(nil, "Missing provider configuration",
					"The provider %q needs the argument %q; add a provider %q block.", name, n, name))
			}
		}
		v, _ := (&decodedBody{schema: sch}).value(nil, nil)
		return v, diags
	}
	v, diags := s.body(p.content, p.Schema.ImpliedType(), cty.NilVal)
	v, _ = v.UnmarkDeep()
	return v, s.withLocals(diags)
}

// EvalResource evaluates a resource or data block into an object of its
// schema's implied type: configured attributes, defaults for the unset
// optional ones, null for unset computed ones. Known values are validated
// (schema Validate). References to resources not in vals are unknown.
func (c *Config) EvalResource(addr addrs.Resource, vals Values) (cty.Value, hcl.Diagnostics) {
	r := c.Resources[addr.NoKey()]
	if r == nil {
		return cty.DynamicVal, hcl.Diagnostics{errorf(nil, "Unknown resource", "%s is not declared in the configuration.", addr)}
	}
	s := c.newScope(vals)
	s.instance(r, addr.Key)
	v, diags := s.body(r.content, r.Schema.ImpliedType(), cty.NilVal)
	return c.unmarkResource(addr, v), s.withLocals(diags)
}

// EvalSSH evaluates the ssh block of a resource; self is the resource's own
// current value (unknown before it exists).
func (c *Config) EvalSSH(addr addrs.Resource, vals Values, self cty.Value) (SSHSettings, hcl.Diagnostics) {
	r := c.Resources[addr.NoKey()]
	if r == nil {
		return SSHSettings{}, hcl.Diagnostics{errorf(nil, "Unknown resource", "%s is not declared in the configuration.", addr)}
	}
	s := c.newScope(vals)
	s.instance(r, addr.Key)
	set, diags := s.ssh(r, selfValue(r, self))
	return set, s.withLocals(diags)
}

// EvalLayers evaluates the layer blocks of a resource, in order.
func (c *Config) EvalLayers(addr addrs.Resource, vals Values, self cty.Value) ([]LayerValue, hcl.Diagnostics) {
	r := c.Resources[addr.NoKey()]
	if r == nil {
		return nil, hcl.Diagnostics{errorf(nil, "Unknown resource", "%s is not declared in the configuration.", addr)}
	}
	s := c.newScope(vals)
	s.instance(r, addr.Key)
	out, diags := s.layers(r, selfValue(r, self))
	for i := range out {
		out[i].Addr.Resource = addr
	}
	return out, s.withLocals(diags)
}

// EvalOutputs evaluates all outputs.
func (c *Config) EvalOutputs(vals Values) (map[string]cty.Value, hcl.Diagnostics) {
	s := c.newScope(vals)
	out := map[string]cty.Value{}
	var diags hcl.Diagnostics
	for _, name := range c.eval.outputOrder {
		v, d := s.expr(c.Outputs[name].expr)
		diags = append(diags, d...)
		if dg := checkOutputSensitivity(c.Outputs[name], v); dg != nil {
			diags = append(diags, dg)
		}
		v, _ = v.UnmarkDeep()
		out[name] = v
	}
	return out, s.withLocals(diags)
}

// selfValue is the value of self: the given one, or unknown when none.
func selfValue(r *Resource, self cty.Value) cty.Value {
	if self == cty.NilVal {
		return cty.UnknownVal(r.Schema.ImpliedType())
	}
	return self
}

func (s *scope) layers(r *Resource, self cty.Value) ([]LayerValue, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := make([]LayerValue, 0, len(r.Layers)+1)
	if lv, d, ok := s.authorizedKeysLayer(r, self); ok {
		diags = append(diags, d...)
		out = append(out, lv)
	}
	for _, ly := range r.Layers {
		v, d := s.body(ly.content, ly.Schema.ImpliedType(), self)
		diags = append(diags, d...)
		marked := isSensitive(v)
		v, _ = v.UnmarkDeep()
		if s.c.sens != nil {
			s.c.sens.setLayer(ly.Addr.String(), marked)
		}
		out = append(out, LayerValue{Addr: ly.Addr, Kind: ly.Kind, Config: v, DeclRange: ly.DeclRange, Sensitive: marked})
	}
	return out, diags
}

// sshAliasPattern is what an ssh alias may be: it is written as a Host
// pattern into an OpenSSH client configuration, where white space, quotes,
// wildcards (* ?), negation (!) and %-tokens would change its meaning.
var sshAliasPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidSSHAlias reports whether s can be used as an ssh alias (a Host name
// in ~/.ssh/mlops_config). A leading dash is refused so the alias can never
// be taken for an option of ssh.
func ValidSSHAlias(s string) bool {
	return sshAliasPattern.MatchString(s) && !strings.HasPrefix(s, "-")
}

// quoteClipped quotes s for a message, cut to at most max bytes so that a
// hostile value cannot flood the terminal.
func quoteClipped(s string, max int) string {
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf(" (%d bytes in all)", len(s))
}

// Defaults of an ssh block.
const (
	defaultSSHPort    = 22
	defaultSSHUser    = "ubuntu"
	defaultSSHTimeout = 5 * time.Minute
)

func (s *scope) ssh(r *Resource, self cty.Value) (SSHSettings, hcl.Diagnostics) {
	set := SSHSettings{Port: defaultSSHPort, User: defaultSSHUser, Timeout: defaultSSHTimeout, Known: true}
	if r.SSH == nil {
		set.Known = false
		return set, hcl.Diagnostics{errorf(r.DeclRange.Ptr(), "Missing ssh block",
			"%s has no ssh block, so mlops cannot reach it.", r.Addr)}
	}
	var travs []hcl.Traversal
	for _, a := range r.SSH.attrs {
		travs = append(travs, a.Expr.Variables()...)
	}
	ctx := s.context(travs, self)
	var diags hcl.Diagnostics

	// value evaluates one setting; ok is false when it is unset, null,
	// unknown or wrong (then diagnosed).
	value := func(name string, ty cty.Type) (cty.Value, *hcl.Attribute, bool) {
		a := r.SSH.attrs[name]
		if a == nil {
			return cty.NilVal, nil, false
		}
		if s.c.eval.skip[a.Expr] {
			set.Known = false
			return cty.NilVal, a, false
		}
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			set.Known = false
			return cty.NilVal, a, false
		}
		// SSH settings are plain Go values; a sensitive one stays out of
		// the views because they show no SSH setting but the address.
		v, _ = v.UnmarkDeep()
		v, err := convert.Convert(v, ty)
		if err != nil {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
				"Inappropriate value for attribute %q: %s.", name, conversionError(err)))
			set.Known = false
			return cty.NilVal, a, false
		}
		if !v.IsKnown() {
			set.Known = false
			return cty.NilVal, a, false
		}
		return v, a, !v.IsNull()
	}
	str := func(name string, dst *string) {
		if v, a, ok := value(name, cty.String); ok {
			val := v.AsString()
			if name == "private_key" {
				val = expandHome(val, s.c.eval.home)
			}
			if err := checkSSHSetting(name, val); err != nil {
				diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid ssh "+strings.ReplaceAll(name, "_", " "), "%s.", err))
				set.Known = false
				return
			}
			*dst = v.AsString()
		}
	}
	str("host", &set.Host)
	str("user", &set.User)
	str("private_key", &set.PrivateKey)
	str("host_key", &set.HostKey)
	if v, a, ok := value("alias", cty.String); ok {
		if alias := v.AsString(); !ValidSSHAlias(alias) {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid ssh alias",
				"The ssh alias becomes a Host name in ~/.ssh/mlops_config: it must be 1 to 64 letters, digits, dots, dashes or underscores and not start with a dash; got %s.", quoteClipped(alias, 80)))
			set.Known = false
		} else {
			set.Alias = alias
		}
	}
	set.PrivateKey = expandHome(set.PrivateKey, s.c.eval.home)
	if v, _, ok := value("authorized_keys", cty.List(cty.String)); ok {
		set.AuthorizedKeys = authorizedKeys(v)
	}

	if v, a, ok := value("port", cty.Number); ok {
		port, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || port < 1 || port > 65535 {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid port",
				"The ssh port must be a whole number from 1 to 65535, not %s.", bigText(v.AsBigFloat())))
			set.Known = false
		} else {
			set.Port = int(port)
		}
	}
	if v, _, ok := value("strict_host_key", cty.Bool); ok {
		set.StrictHostKey = v.True()
	}
	if v, a, ok := value("forward", cty.Map(cty.String)); ok {
		fw, err := parseForwards(v)
		if err != nil {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid port forward", "%s", err))
			set.Known = false
		}
		set.Forwards = fw
	}
	if v, _, ok := value("wake", cty.Bool); ok {
		set.Wake = v.True()
	}
	if v, a, ok := value("timeout", cty.String); ok {
		d, err := time.ParseDuration(v.AsString())
		if err != nil || d <= 0 {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid timeout",
				"The ssh timeout must be a positive duration like \"30s\" or \"5m\", not %q.", v.AsString()))
			set.Known = false
		} else {
			set.Timeout = d
		}
	}
	return set, diags
}

// evaluateAll evaluates everything once with resources unknown (loading
// phase 5), reporting type errors, unknown functions and invalid constant
// values, and computes the backend settings.
func (l *loader) evaluateAll() {
	c := l.c
	s := c.newScope(nil)
	for _, name := range c.eval.localOrder {
		s.local(name)
	}
	for _, name := range c.eval.providerOrder {
		p := c.Providers[name]
		_, d := s.body(p.content, p.Schema.ImpliedType(), cty.NilVal)
		l.diags = append(l.diags, d...)
	}
	for _, addr := range c.eval.resourceOrder {
		r := c.Resources[addr]
		l.checkRepetition(s, r)
		v, d := s.body(r.content, r.Schema.ImpliedType(), cty.NilVal)
		c.unmarkResource(addr, v)
		l.diags = append(l.diags, d...)
		self := cty.UnknownVal(r.Schema.ImpliedType())
		if r.SSH != nil {
			_, d := s.ssh(r, self)
			l.diags = append(l.diags, d...)
		}
		_, d = s.layers(r, self)
		l.diags = append(l.diags, d...)
		s.each, s.count = cty.NilVal, cty.NilVal
	}
	outScope := s
	if c.propagateSensitivity() {
		outScope = c.newScope(nil)
	}
	for _, name := range c.eval.outputOrder {
		_, d := s.expr(c.Outputs[name].expr)
		l.diags = append(l.diags, d...)
		if d.HasErrors() {
			continue
		}
		v, _ := outScope.expr(c.Outputs[name].expr)
		if dg := checkOutputSensitivity(c.Outputs[name], v); dg != nil {
			l.diags = append(l.diags, dg)
		}
	}
	if c.Backend != nil {
		for _, name := range sortedKeys(l.backendAttrs) {
			a := l.backendAttrs[name]
			v, d := s.expr(a.Expr)
			l.diags = append(l.diags, d...)
			if d.HasErrors() || c.eval.skip[a.Expr] {
				continue
			}
			v, _ = v.UnmarkDeep()
			cv, err := convert.Convert(v, cty.String)
			if err != nil {
				l.errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
					"Inappropriate value for attribute %q: %s.", name, conversionError(err))
				continue
			}
			c.Backend.Config[name] = cv
		}
	}
	l.diags = append(l.diags, s.diags...)
}
