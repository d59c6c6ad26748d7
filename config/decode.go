package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decodedBody is a block body checked against a schema.Block: the
// attributes it sets and its nested blocks, with expressions kept for
// evaluation. Attributes that may not be set (computed-only) are reported at
// decode time and left out.
type decodedBody struct {
	schema *schema.Block
	attrs  map[string]*hcl.Attribute
	blocks map[string][]*decodedBody
	// defRange is the nested block's header; missing is where a missing
	// argument is reported (the opening brace of the body).
	defRange hcl.Range
	missing  hcl.Range
}

// bodySchema turns a schema.Block into the hcl.BodySchema that decodes it,
// plus the meta-arguments and meta-blocks of extra (names the block already
// has are not added twice).
func bodySchema(b *schema.Block, extra *hcl.BodySchema) *hcl.BodySchema {
	bs := &hcl.BodySchema{}
	for _, n := range b.AttributeNames() {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: n, Required: b.Attributes[n].Required})
	}
	for _, n := range b.BlockTypeNames() {
		bs.Blocks = append(bs.Blocks, hcl.BlockHeaderSchema{Type: n})
	}
	if extra != nil {
		for _, a := range extra.Attributes {
			if _, ok := b.Attributes[a.Name]; !ok {
				bs.Attributes = append(bs.Attributes, a)
			}
		}
		for _, blk := range extra.Blocks {
			if _, ok := b.BlockTypes[blk.Type]; !ok {
				bs.Blocks = append(bs.Blocks, blk)
			}
		}
	}
	return bs
}

// decodeBody decodes body with the block schema b and the extra
// meta-arguments; it returns the decoded body and the raw content, from
// which the caller takes the meta-arguments.
func decodeBody(body hcl.Body, b *schema.Block, extra *hcl.BodySchema) (*decodedBody, *hcl.BodyContent, hcl.Diagnostics) {
	content, diags := body.Content(bodySchema(b, extra))
	db := &decodedBody{
		schema:  b,
		attrs:   map[string]*hcl.Attribute{},
		blocks:  map[string][]*decodedBody{},
		missing: body.MissingItemRange(),
	}
	if content == nil {
		return db, &hcl.BodyContent{}, diags
	}
	for _, name := range sortedKeys(content.Attributes) {
		attr := content.Attributes[name]
		a, ok := b.Attributes[name]
		if !ok {
			continue // a meta-argument
		}
		if !a.Required && !a.Optional {
			diags = append(diags, errorf(attr.NameRange.Ptr(), "Computed attribute cannot be set",
				"The attribute %q is set by the provider and cannot be configured. Remove this line.", name))
			continue
		}
		db.attrs[name] = attr
	}
	for _, blk := range content.Blocks {
		nb, ok := b.BlockTypes[blk.Type]
		if !ok {
			continue // a meta-block
		}
		child, _, d := decodeBody(blk.Body, &nb.Block, nil)
		diags = append(diags, d...)
		child.defRange = blk.DefRange
		db.blocks[blk.Type] = append(db.blocks[blk.Type], child)
	}
	for _, name := range b.BlockTypeNames() {
		nb, got := b.BlockTypes[name], db.blocks[name]
		switch {
		case nb.Nesting == schema.NestingSingle && len(got) > 1:
			diags = append(diags, errorf(got[1].defRange.Ptr(), fmt.Sprintf("Duplicate %s block", name),
				"Only one %q block is allowed here; the first one is at %s.", name, rangeString(got[0].defRange)))
		case nb.MaxItems > 0 && len(got) > nb.MaxItems:
			diags = append(diags, errorf(got[nb.MaxItems].defRange.Ptr(), fmt.Sprintf("Too many %s blocks", name),
				"At most %d %q blocks are allowed here.", nb.MaxItems, name))
		}
		if len(got) < nb.MinItems {
			diags = append(diags, errorf(db.missing.Ptr(), fmt.Sprintf("Missing %s block", name),
				"At least %d %q block(s) are required here.", nb.MinItems, name))
		}
	}
	return db, content, diags
}

// expressions calls f for every attribute expression of the body, nested
// blocks included, in a stable order.
func (db *decodedBody) expressions(f func(hcl.Expression)) {
	if db == nil {
		return
	}
	for _, name := range sortedKeys(db.attrs) {
		f(db.attrs[name].Expr)
	}
	for _, name := range sortedKeys(db.blocks) {
		for _, child := range db.blocks[name] {
			child.expressions(f)
		}
	}
}

// traversals returns the references of every expression of the body.
func (db *decodedBody) traversals() []hcl.Traversal {
	var ts []hcl.Traversal
	db.expressions(func(e hcl.Expression) { ts = append(ts, e.Variables()...) })
	return ts
}

// value evaluates the body in ctx into an object of the schema's implied
// type: configured attributes converted to their types, unset optional
// attributes their default or null, computed-only attributes null, list
// blocks a list (empty when none), single blocks an object or null. Wholly
// known values are validated. Expressions in skip evaluate as unknown
// (their references were already reported as wrong).
func (db *decodedBody) value(ctx *hcl.EvalContext, skip map[hcl.Expression]bool) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	b := db.schema
	vals := make(map[string]cty.Value, len(b.Attributes)+len(b.BlockTypes))
	for name, a := range b.Attributes {
		attr := db.attrs[name]
		if attr == nil {
			vals[name] = unsetValue(a)
			continue
		}
		v, d := attrValue(name, a, attr, ctx, skip)
		diags = append(diags, d...)
		vals[name] = v
	}
	for name, nb := range b.BlockTypes {
		ety := nb.Block.ImpliedType()
		var elems []cty.Value
		for _, child := range db.blocks[name] {
			v, d := child.value(ctx, skip)
			diags = append(diags, d...)
			elems = append(elems, v)
		}
		switch {
		case nb.Nesting == schema.NestingList && len(elems) == 0:
			vals[name] = cty.ListValEmpty(ety)
		case nb.Nesting == schema.NestingList:
			vals[name] = listOf(ety, elems)
		case len(elems) == 0:
			vals[name] = cty.NullVal(ety)
		default:
			vals[name] = elems[0]
		}
	}
	return cty.ObjectVal(vals), diags
}

// listOf makes a list of elems. The elements conform to ety; when ety has
// dynamic parts their concrete types may differ, and a list cannot hold
// them: the result is then unknown.
func listOf(ety cty.Type, elems []cty.Value) cty.Value {
	for _, e := range elems[1:] {
		if !e.Type().Equals(elems[0].Type()) {
			return cty.UnknownVal(cty.List(ety))
		}
	}
	return cty.ListVal(elems)
}

// unsetValue is the value of an attribute that is not configured.
func unsetValue(a *schema.Attribute) cty.Value {
	if a.Optional && a.Default != cty.NilVal {
		if v, err := convert.Convert(a.Default, a.Type); err == nil {
			return v
		}
	}
	return cty.NullVal(a.Type)
}

// attrValue evaluates one configured attribute, converts it to the
// attribute's type and validates it when wholly known. On error the value
// is unknown, so that later steps do not report the same problem again.
func attrValue(name string, a *schema.Attribute, attr *hcl.Attribute, ctx *hcl.EvalContext, skip map[hcl.Expression]bool) (cty.Value, hcl.Diagnostics) {
	if skip[attr.Expr] {
		return cty.UnknownVal(a.Type), nil
	}
	rng := attr.Expr.Range()
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(a.Type), diags
	}
	// A value derived from a sensitive variable is checked unmarked and
	// marked again as a whole; its problems are reported without it.
	marked := isSensitive(v)
	if marked {
		v, _ = v.UnmarkDeep()
	}
	cv, err := convert.Convert(v, a.Type)
	if err != nil {
		return cty.UnknownVal(a.Type), append(diags, errorf(rng.Ptr(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: %s.", name, conversionError(err)))
	}
	if cv.IsNull() && a.Required {
		return cv, append(diags, errorf(rng.Ptr(), "Missing required argument",
			"The argument %q is required, but its value is null.", name))
	}
	if a.Validate != nil && cv.IsWhollyKnown() && !cv.IsNull() {
		if err := a.Validate(cv); err != nil && marked {
			diags = append(diags, errorf(rng.Ptr(), "Invalid attribute value",
				"Invalid value for %q: the value (sensitive, not shown) does not pass its check.", name))
		} else if err != nil {
			diags = append(diags, errorf(rng.Ptr(), "Invalid attribute value",
				"Invalid value for %q: %s.", name, conversionError(err)))
		}
	}
	if marked {
		cv = cv.Mark(sensitive)
	}
	return cv, diags
}
