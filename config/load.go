package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Load reads all *.hcl files of dir (in name order; hidden files are
// skipped) and loads them as one configuration. File names in diagnostic
// ranges are dir joined with the file's name.
//
// The returned Config is never nil, even with errors, so that a caller can
// render the diagnostics with its Files; it must not be evaluated when the
// diagnostics have errors.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		c := newConfig(dir, opts)
		return c, hcl.Diagnostics{errorf(nil, "Cannot read configuration directory",
			"Reading the directory %s failed: %s.", dir, err)}
	}
	var diags hcl.Diagnostics
	files := map[string][]byte{}
	for _, e := range entries {
		n := e.Name()
		// The lock file is data mlops writes, not configuration.
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasPrefix(n, ".") || n == lockfile.FileName {
			continue
		}
		path := filepath.Join(dir, n)
		src, err := readSource(opts.Context, path)
		if err != nil {
			diags = append(diags, errorf(nil, "Cannot read configuration file", "Reading %s failed: %s.", path, unwrapPathErr(err)))
			continue
		}
		files[path] = src
	}
	if opts.Context != nil && opts.Context.Err() != nil {
		// Interrupted: say only that, not what is missing because of it.
		return newConfig(dir, opts), diags
	}
	c, d := LoadFiles(dir, files, opts)
	return c, append(diags, d...)
}

// LoadFiles loads a configuration from in-memory files (name -> content);
// dir is used for file() and relative paths. The names are used as they are
// in diagnostic ranges.
func LoadFiles(dir string, files map[string][]byte, opts LoadOptions) (*Config, hcl.Diagnostics) {
	l := &loader{c: newConfig(dir, opts), opts: opts}
	if len(files) == 0 {
		l.errorf(nil, "No configuration files", "The directory %s contains no .hcl files.", dir)
		return l.c, l.diags
	}
	for _, name := range sortedKeys(files) {
		l.parseFile(name, files[name])
	}
	l.resolveVariables()
	l.checkReferences()
	l.checkCycles()
	l.evaluateAll()
	return l.c, finishDiagnostics(l.diags)
}

func newConfig(dir string, opts LoadOptions) *Config {
	home := ""
	for _, kv := range opts.Env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	reads := &fileReads{}
	return &Config{
		Dir:       dir,
		reads:     reads,
		sens:      &sensitivity{},
		Sources:   map[string][]byte{},
		Files:     map[string]*hcl.File{},
		Variables: map[string]*Variable{},
		Locals:    map[string]*Local{},
		Providers: map[string]*Provider{},
		Resources: map[addrs.Resource]*Resource{},
		Outputs:   map[string]*Output{},
		eval: &evaluator{
			schemas: opts.Schemas,
			home:    home,
			funcs:   functions(dir, home, reads.record),
			skip:    map[hcl.Expression]bool{},
		},
	}
}

// loader accumulates a configuration and its diagnostics over the phases of
// loading: parse and decode every block, resolve variable values, check
// references and compute dependencies, detect cycles, and evaluate
// everything once with resources unknown.
type loader struct {
	c     *Config
	opts  LoadOptions
	diags hcl.Diagnostics

	backendAttrs map[string]*hcl.Attribute
}

func (l *loader) errorf(subject *hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, errorf(subject, summary, detail, args...))
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "mlops"},
	},
}

func (l *loader) parseFile(name string, src []byte) {
	l.c.Sources[name] = src
	if d := CheckNesting(src, name); d.HasErrors() {
		// No parse: the file is kept only for the snippet.
		l.c.Files[name] = &hcl.File{Bytes: src}
		l.diags = append(l.diags, d...)
		return
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	l.diags = append(l.diags, diags...)
	if f == nil || f.Body == nil {
		return
	}
	l.c.Files[name] = f
	content, diags := f.Body.Content(rootSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			l.decodeVariable(b)
		case "locals":
			l.decodeLocals(b)
		case "provider":
			l.decodeProvider(b)
		case "resource":
			l.decodeResource(b, addrs.Managed)
		case "data":
			l.decodeResource(b, addrs.Data)
		case "output":
			l.decodeOutput(b)
		case "mlops":
			l.decodeMlops(b)
		}
	}
}

// checkName reports a label that is not an identifier.
func (l *loader) checkName(what, name string, rng hcl.Range) bool {
	if addrs.ValidName(name) {
		return true
	}
	l.errorf(rng.Ptr(), "Invalid name",
		"A %s name must start with a letter or underscore and contain only letters, digits, underscores and dashes; %q does not.", what, name)
	return false
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
}

func (l *loader) decodeVariable(b *hcl.Block) {
	name := b.Labels[0]
	content, diags := b.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)
	if !l.checkName("variable", name, b.LabelRanges[0]) {
		return
	}
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
	if a := content.Attributes["type"]; a != nil {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			v.Type, v.defaults, v.typed = ty, defaults, true
		}
	}
	if a := content.Attributes["description"]; a != nil {
		if s, ok := l.constValue(a, cty.String); ok && !s.IsNull() {
			v.Description = s.AsString()
		}
	}
	if a := content.Attributes["sensitive"]; a != nil {
		if s, ok := l.constValue(a, cty.Bool); ok && !s.IsNull() {
			v.Sensitive = s.True()
		}
	}
	if a := content.Attributes["default"]; a != nil {
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			v.Default = cty.UnknownVal(v.Type)
		} else if cv, err := v.convert(val); err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid default value for variable",
				"The default value of variable %q does not match its type %s: %s.", name, typeexpr.TypeString(v.Type), conversionError(err))
			v.Default = cty.UnknownVal(v.Type)
		} else {
			v.Default = cv
		}
	}
	if prev, ok := l.c.Variables[name]; ok {
		l.errorf(b.LabelRanges[0].Ptr(), "Duplicate variable declaration",
			"A variable named %q was already declared at %s. Variable names must be unique.", name, rangeString(prev.DeclRange))
		return
	}
	l.c.Variables[name] = v
	l.c.eval.variableOrder = append(l.c.eval.variableOrder, name)
}

// convert applies the variable's type defaults and converts val to its type.
func (v *Variable) convert(val cty.Value) (cty.Value, error) {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	return convert.Convert(val, v.Type)
}

// constValue evaluates an attribute that must be a constant of type ty.
func (l *loader) constValue(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", a.Name, conversionError(err))
		return cty.NilVal, false
	}
	if !cv.IsKnown() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid attribute value",
			"The value of %q must be known when the configuration is loaded.", a.Name)
		return cty.NilVal, false
	}
	return cv, true
}

func (l *loader) decodeLocals(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	for _, a := range list {
		if prev, ok := l.c.Locals[a.Name]; ok {
			l.errorf(a.NameRange.Ptr(), "Duplicate local value definition",
				"A local value named %q was already defined at %s. Local value names must be unique.", a.Name, rangeString(prev.DeclRange))
			continue
		}
		l.c.Locals[a.Name] = &Local{Name: a.Name, DeclRange: a.NameRange, expr: a.Expr}
		l.c.eval.localOrder = append(l.c.eval.localOrder, a.Name)
	}
}

func (l *loader) decodeProvider(b *hcl.Block) {
	name := b.Labels[0]
	sch := l.opts.Schemas.Provider[name]
	if sch == nil {
		l.errorf(b.LabelRanges[0].Ptr(), "Unsupported provider",
			"There is no provider named %q.%s", name, didYouMean(name, sortedKeys(l.opts.Schemas.Provider)))
		return
	}
	db, _, diags := decodeBody(b.Body, sch, nil)
	l.diags = append(l.diags, diags...)
	if prev, ok := l.c.Providers[name]; ok {
		l.errorf(b.DefRange.Ptr(), "Duplicate provider configuration",
			"The provider %q was already configured at %s.", name, rangeString(prev.DeclRange))
		return
	}
	l.c.Providers[name] = &Provider{Name: name, Schema: sch, DeclRange: b.DefRange, body: b.Body, content: db}
	l.c.eval.providerOrder = append(l.c.eval.providerOrder, name)
}

var (
	managedMeta = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "depends_on"}, {Name: "for_each"}, {Name: "count"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "lifecycle"},
			{Type: "ssh"},
			{Type: "layer", LabelNames: []string{"kind"}},
		},
	}
	dataMeta = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "depends_on"}},
	}
	lifecycleSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "prevent_destroy"}},
	}
	sshSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "host", Required: true},
			{Name: "port"},
			{Name: "user"},
			{Name: "private_key"},
			{Name: "host_key"},
			{Name: "timeout"},
			{Name: "alias"},
			{Name: "strict_host_key"},
			{Name: "forward"},
			{Name: "wake"},
			{Name: "authorized_keys"},
		},
	}
	layerMeta = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "name"}},
	}
)

func (l *loader) decodeResource(b *hcl.Block, mode addrs.Mode) {
	typ, name := b.Labels[0], b.Labels[1]
	types, what, meta := l.opts.Schemas.Resources, "resource", managedMeta
	if mode == addrs.Data {
		types, what, meta = l.opts.Schemas.DataSources, "data source", dataMeta
	}
	sch := types[typ]
	if sch == nil {
		l.errorf(b.LabelRanges[0].Ptr(), fmt.Sprintf("Unsupported %s type", what),
			"There is no %s type named %q.%s", what, typ, didYouMean(typ, sortedKeys(types)))
		return
	}
	if !l.checkName(what, name, b.LabelRanges[1]) {
		return
	}
	addr := addrs.Resource{Mode: mode, Type: typ, Name: name}
	db, content, diags := decodeBody(b.Body, &sch.Block, meta)
	l.diags = append(l.diags, diags...)
	r := &Resource{Addr: addr, Schema: sch, DeclRange: b.DefRange, body: b.Body, content: db}
	if a := content.Attributes["depends_on"]; a != nil {
		r.dependsOn = l.decodeDependsOn(a)
	}
	l.decodeRepetition(r, content)
	var lifecycle *hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "lifecycle":
			if lifecycle != nil {
				l.errorf(blk.DefRange.Ptr(), "Duplicate lifecycle block",
					"Only one lifecycle block is allowed; the first one is at %s.", rangeString(lifecycle.DefRange))
				continue
			}
			lifecycle = blk
			r.PreventDestroy = l.decodeLifecycle(blk)
		case "ssh", "layer":
			if !sch.SSH {
				l.errorf(blk.TypeRange.Ptr(), fmt.Sprintf("Unsupported %s block", blk.Type),
					"Resources of type %q are not hosts: they take no ssh or layer blocks.", typ)
				continue
			}
			if blk.Type == "ssh" {
				l.decodeSSH(r, blk)
			} else {
				l.decodeLayer(r, blk)
			}
		}
	}
	if len(r.Layers) > 0 && r.SSH == nil {
		l.errorf(b.DefRange.Ptr(), "Missing ssh block",
			"%s has layer blocks but no ssh block, so mlops cannot reach the host to install them.", addr)
	}
	if prev, ok := l.c.Resources[addr]; ok {
		l.errorf(b.DefRange.Ptr(), fmt.Sprintf("Duplicate %s", what),
			"%s was already declared at %s. Each %s needs a unique name.", addr, rangeString(prev.DeclRange), what)
		return
	}
	l.c.Resources[addr] = r
	l.c.eval.resourceOrder = append(l.c.eval.resourceOrder, addr)
}

// dependsOnRef is one entry of depends_on, resolved in checkReferences.
type dependsOnRef struct {
	addr addrs.Resource
	rng  hcl.Range
}

func (l *loader) decodeDependsOn(a *hcl.Attribute) []dependsOnRef {
	exprs, diags := hcl.ExprList(a.Expr)
	l.diags = append(l.diags, diags...)
	var refs []dependsOnRef
	for _, e := range exprs {
		trav, diags := hcl.AbsTraversalForExpr(e)
		addr, ok := resourceAddr(trav)
		if diags.HasErrors() || !ok {
			l.errorf(e.Range().Ptr(), "Invalid depends_on reference",
				"Each depends_on entry must name a resource, like aws_instance.web, or a data source, like data.aws_ami.ubuntu.")
			continue
		}
		refs = append(refs, dependsOnRef{addr: addr, rng: e.Range()})
	}
	return refs
}

// resourceAddr reads a traversal that is exactly TYPE.NAME or data.TYPE.NAME.
func resourceAddr(t hcl.Traversal) (addrs.Resource, bool) {
	var names []string
	for i, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			names = append(names, s.Name)
		case hcl.TraverseAttr:
			if i == 0 {
				return addrs.Resource{}, false
			}
			names = append(names, s.Name)
		default:
			return addrs.Resource{}, false
		}
	}
	switch {
	case len(names) == 2 && names[0] != "data":
		return addrs.Resource{Mode: addrs.Managed, Type: names[0], Name: names[1]}, true
	case len(names) == 3 && names[0] == "data":
		return addrs.Resource{Mode: addrs.Data, Type: names[1], Name: names[2]}, true
	}
	return addrs.Resource{}, false
}

func (l *loader) decodeLifecycle(b *hcl.Block) bool {
	content, diags := b.Body.Content(lifecycleSchema)
	l.diags = append(l.diags, diags...)
	a := content.Attributes["prevent_destroy"]
	if a == nil {
		return false
	}
	v, ok := l.constValue(a, cty.Bool)
	return ok && !v.IsNull() && v.True()
}

func (l *loader) decodeSSH(r *Resource, b *hcl.Block) {
	content, diags := b.Body.Content(sshSchema)
	l.diags = append(l.diags, diags...)
	if r.SSH != nil {
		l.errorf(b.DefRange.Ptr(), "Duplicate ssh block",
			"Only one ssh block is allowed; the first one is at %s.", rangeString(r.SSH.DeclRange))
		return
	}
	r.SSH = &SSH{DeclRange: b.DefRange, body: b.Body, attrs: content.Attributes}
}

func (l *loader) decodeLayer(r *Resource, b *hcl.Block) {
	kind := b.Labels[0]
	ls := l.opts.Schemas.Layers[kind]
	if ls == nil {
		l.errorf(b.LabelRanges[0].Ptr(), "Unsupported layer kind",
			"There is no layer kind named %q.%s", kind, didYouMean(kind, sortedKeys(l.opts.Schemas.Layers)))
		return
	}
	db, content, diags := decodeBody(b.Body, &ls.Block, layerMeta)
	l.diags = append(l.diags, diags...)
	name, nameRange := kind, b.LabelRanges[0]
	if a := content.Attributes["name"]; a != nil {
		v, ok := l.constValue(a, cty.String)
		if !ok {
			return
		}
		if v.IsNull() {
			l.errorf(a.Expr.Range().Ptr(), "Invalid layer name", "The layer name cannot be null.")
			return
		}
		name, nameRange = v.AsString(), a.Expr.Range()
	}
	if !addrs.ValidName(name) {
		l.errorf(nameRange.Ptr(), "Invalid layer name",
			"A layer name must start with a letter or underscore and contain only letters, digits, underscores and dashes; %q does not.", name)
		return
	}
	for _, prev := range r.Layers {
		if prev.Addr.Name == name {
			l.errorf(nameRange.Ptr(), "Duplicate layer",
				"%s already has a layer named %q, at %s. Give one of them another name with the name argument.",
				r.Addr, name, rangeString(prev.DeclRange))
			return
		}
	}
	r.Layers = append(r.Layers, &Layer{
		Addr:      addrs.Layer{Resource: r.Addr, Name: name},
		Kind:      kind,
		Schema:    ls,
		DeclRange: b.DefRange,
		body:      b.Body,
		content:   db,
	})
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "value", Required: true},
		{Name: "description"},
		{Name: "sensitive"},
		{Name: "depends_on"},
	},
}

func (l *loader) decodeOutput(b *hcl.Block) {
	name := b.Labels[0]
	content, diags := b.Body.Content(outputSchema)
	l.diags = append(l.diags, diags...)
	if !l.checkName("output", name, b.LabelRanges[0]) {
		return
	}
	o := &Output{Name: name, DeclRange: b.DefRange}
	if a := content.Attributes["value"]; a != nil {
		o.expr = a.Expr
	} else {
		// The missing value was reported; a null stands in for it.
		o.expr = &hclsyntax.LiteralValueExpr{Val: cty.NullVal(cty.DynamicPseudoType), SrcRange: b.DefRange}
	}
	if a := content.Attributes["description"]; a != nil {
		if s, ok := l.constValue(a, cty.String); ok && !s.IsNull() {
			o.Description = s.AsString()
		}
	}
	if a := content.Attributes["sensitive"]; a != nil {
		if s, ok := l.constValue(a, cty.Bool); ok && !s.IsNull() {
			o.Sensitive = s.True()
		}
	}
	if a := content.Attributes["depends_on"]; a != nil {
		o.dependsOn = l.decodeDependsOn(a)
	}
	if prev, ok := l.c.Outputs[name]; ok {
		l.errorf(b.LabelRanges[0].Ptr(), "Duplicate output definition",
			"An output named %q was already defined at %s. Output names must be unique.", name, rangeString(prev.DeclRange))
		return
	}
	l.c.Outputs[name] = o
	l.c.eval.outputOrder = append(l.c.eval.outputOrder, name)
}

var (
	mlopsSchema = &hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}, {Type: "budget"}},
	}
	// backendSchemas are the known state backends and their arguments.
	backendSchemas = map[string]*hcl.BodySchema{
		"local": {Attributes: []hcl.AttributeSchema{{Name: "path"}}},
		"s3": {Attributes: []hcl.AttributeSchema{
			{Name: "bucket", Required: true},
			{Name: "key", Required: true},
			{Name: "region"},
			{Name: "endpoint"},
			{Name: "profile"},
		}},
	}
)

func (l *loader) decodeMlops(b *hcl.Block) {
	content, diags := b.Body.Content(mlopsSchema)
	l.diags = append(l.diags, diags...)
	for _, blk := range content.Blocks {
		if blk.Type == "budget" {
			l.decodeBudget(blk)
			continue
		}
		typ := blk.Labels[0]
		bs := backendSchemas[typ]
		if bs == nil {
			l.errorf(blk.LabelRanges[0].Ptr(), "Unsupported backend type",
				"There is no backend type named %q; use \"local\" or \"s3\".%s", typ, didYouMean(typ, sortedKeys(backendSchemas)))
			continue
		}
		content, diags := blk.Body.Content(bs)
		l.diags = append(l.diags, diags...)
		if l.c.Backend != nil {
			l.errorf(blk.DefRange.Ptr(), "Duplicate backend configuration",
				"A backend was already configured at %s; a configuration has one state backend.", rangeString(l.c.Backend.DeclRange))
			continue
		}
		l.c.Backend = &Backend{Type: typ, Config: map[string]cty.Value{}, DeclRange: blk.DefRange}
		l.backendAttrs = content.Attributes
	}
}

// resolveVariables gives every variable its value, from (in increasing
// precedence) its default, the MLOPS_VAR_ environment, -var-file files and
// -var arguments.
func (l *loader) resolveVariables() {
	set := map[string]cty.Value{}
	// source records where each value in set came from, for saved plans.
	source := map[string]string{}

	for _, kv := range l.opts.Env {
		k, raw, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, "MLOPS_VAR_")
		v := l.c.Variables[name]
		if !ok || v == nil {
			continue // the environment may hold values for other configurations
		}
		if val, ok := l.rawVariableValue(v, raw, "environment variable "+k); ok {
			set[name], source[name] = val, SourceEnv
		}
	}

	for _, path := range l.opts.VarFiles {
		l.readVarFile(path, set, source)
	}

	for _, arg := range l.opts.Vars {
		name, raw, ok := strings.Cut(arg, "=")
		if !ok || name == "" {
			l.errorf(nil, "Invalid -var option",
				"The option -var %q is not of the form name=value, like -var \"region=eu-west-1\".", arg)
			continue
		}
		v := l.c.Variables[name]
		if v == nil {
			l.errorf(nil, "Value for undeclared variable",
				"The option -var %q sets a variable named %q, but the configuration declares no such variable.%s",
				arg, name, didYouMean(name, l.c.eval.variableOrder))
			continue
		}
		if val, ok := l.rawVariableValue(v, raw, "-var "+quoteClipped(arg, 80)); ok {
			set[name], source[name] = val, SourceFlag
		}
	}

	for _, name := range l.c.eval.variableOrder {
		v := l.c.Variables[name]
		switch val, ok := set[name]; {
		case ok:
			v.Value, v.Source = val, source[name]
		case v.Default != cty.NilVal:
			v.Value, v.Source = v.Default, SourceDefault
		case l.opts.AllowUnsetVariables:
			v.Value = cty.UnknownVal(v.Type)
		default:
			l.errorf(v.DeclRange.Ptr(), "No value for required variable",
				"The variable %q has no default and no value. Set it with -var \"%s=...\", a -var-file, or the MLOPS_VAR_%s environment variable.",
				name, name, name)
			v.Value = cty.UnknownVal(v.Type)
		}
	}
}

// rawVariableValue interprets a string from the command line or the
// environment: literally for string variables and variables without a
// declared type, as an HCL expression without references otherwise (also
// for type any, so that -var 'x=[1]' gives a list). source names where it
// came from.
func (l *loader) rawVariableValue(v *Variable, raw, source string) (cty.Value, bool) {
	var val cty.Value
	if v.Type == cty.String || !v.typed {
		val = cty.StringVal(raw)
	} else {
		name := fmt.Sprintf("<value for var.%s>", v.Name)
		diags := CheckExpressionNesting([]byte(raw), name)
		var expr hclsyntax.Expression
		if !diags.HasErrors() {
			expr, diags = hclsyntax.ParseExpression([]byte(raw), name, hcl.InitialPos)
		}
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			l.errorf(nil, "Invalid value for variable",
				"The value given by %s is not valid for variable %q: %s", source, v.Name, diags[0].Detail)
			return cty.NilVal, false
		}
	}
	cv, err := v.convert(val)
	if err != nil {
		l.errorf(nil, "Invalid value for variable",
			"The value given by %s is not valid for variable %q of type %s: %s.", source, v.Name, typeexpr.TypeString(v.Type), conversionError(err))
		return cty.NilVal, false
	}
	return cv, true
}

func (l *loader) readVarFile(path string, set map[string]cty.Value, source map[string]string) {
	src, err := readSource(l.opts.Context, path)
	if err != nil {
		l.errorf(nil, "Cannot read variables file", "Reading -var-file %s failed: %s.", path, unwrapPathErr(err))
		return
	}
	l.c.Sources[path] = src
	if d := CheckNesting(src, path); d.HasErrors() {
		// No parse: the file is kept only for the snippet.
		l.c.Files[path] = &hcl.File{Bytes: src}
		l.diags = append(l.diags, d...)
		return
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	l.diags = append(l.diags, diags...)
	if f == nil || f.Body == nil {
		return
	}
	l.c.Files[path] = f
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	for _, a := range list {
		v := l.c.Variables[a.Name]
		if v == nil {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The file %s sets a variable named %q, which the configuration does not declare; the value is ignored.%s",
					path, a.Name, didYouMean(a.Name, l.c.eval.variableOrder)),
				Subject: a.NameRange.Ptr(),
			})
			continue
		}
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		cv, err := v.convert(val)
		if err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid value for variable",
				"The value in %s is not valid for variable %q of type %s: %s.", path, a.Name, typeexpr.TypeString(v.Type), conversionError(err))
			continue
		}
		set[a.Name], source[a.Name] = cv, SourceVarFile+path
	}
}
