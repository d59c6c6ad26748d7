package views

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// valueString renders a value the way it would be written in HCL, on one
// line when it fits, unknowns as (known after apply).
func valueString(v cty.Value, indent string) string {
	switch {
	case v == cty.NilVal || v.IsNull():
		return "null"
	case !v.IsKnown():
		return "(known after apply)"
	case v.IsMarked():
		return "(sensitive value)"
	}
	ty := v.Type()
	switch {
	case ty.IsPrimitiveType():
		return string(hclwrite.TokensForValue(v).Bytes())
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		if v.LengthInt() == 0 {
			return "[]"
		}
		var parts []string
		simple := true
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.Type().IsPrimitiveType() && e.IsKnown() && !e.IsNull() {
				simple = false
			}
			parts = append(parts, valueString(e, indent+"    "))
		}
		one := "[" + strings.Join(parts, ", ") + "]"
		if simple && len(one) <= 60 {
			return one
		}
		return "[\n" + indent + "    " + strings.Join(parts, ",\n"+indent+"    ") + ",\n" + indent + "]"
	case ty.IsMapType() || ty.IsObjectType():
		if v.LengthInt() == 0 {
			return "{}"
		}
		var keys []string
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			keys = append(keys, k.AsString())
			m[k.AsString()] = e
		}
		sort.Strings(keys)
		w := 0
		for _, k := range keys {
			if l := len(quoteKey(k)); l > w {
				w = l
			}
		}
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s    %-*s = %s\n", indent, w, quoteKey(k), valueString(m[k], indent+"    "))
		}
		b.WriteString(indent + "}")
		return b.String()
	}
	return v.GoString()
}

func quoteKey(k string) string {
	if hclwrite.TokensForIdentifier(k) != nil && isIdent(k) {
		return k
	}
	return fmt.Sprintf("%q", k)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// lineWriter accumulates indented plan lines.
type lineWriter struct {
	b       strings.Builder
	streams *Streams
}

func (w *lineWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

// symbol renders an action marker, coloured.
func (w *lineWriter) symbol(a plan.Action) string {
	s := a.Symbol()
	switch a {
	case plan.Create:
		return w.streams.color(green, s)
	case plan.Update:
		return w.streams.color(yellow, s)
	case plan.Delete:
		return w.streams.color(red, s)
	case plan.Replace:
		return w.streams.color(red, "-") + "/" + w.streams.color(green, "+")
	}
	return s
}

// attrDiff renders the attributes of a block diff. Before/After are objects
// (or null). Unchanged attributes are counted, not shown, unless showAll.
func (w *lineWriter) blockDiff(blk *schema.Block, before, after cty.Value, replace map[string]bool, indent string, action plan.Action) {
	names := blk.AttributeNames()
	width := 0
	for _, n := range names {
		if len(n) > width {
			width = len(n)
		}
	}
	get := func(v cty.Value, n string) cty.Value {
		if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
			if v != cty.NilVal && !v.IsKnown() {
				return cty.UnknownVal(cty.DynamicPseudoType)
			}
			return cty.NullVal(cty.DynamicPseudoType)
		}
		return v.GetAttr(n)
	}
	hidden := 0
	for _, n := range names {
		a := blk.Attributes[n]
		bv, av := get(before, n), get(after, n)
		render := func(v cty.Value) string {
			if a.Sensitive && !v.IsNull() {
				return "(sensitive value)"
			}
			return valueString(v, indent+"  ")
		}
		note := ""
		if replace[n] {
			note = w.streams.color(red, " # forces replacement")
		}
		switch {
		case action == plan.Create || (action == plan.Replace && (before == cty.NilVal || before.IsNull())):
			if av.IsNull() {
				continue
			}
			w.line("%s%s %-*s = %s%s", indent, w.symbol(plan.Create), width, n, render(av), note)
		case action == plan.Delete:
			if bv.IsNull() {
				continue
			}
			w.line("%s%s %-*s = %s", indent, w.symbol(plan.Delete), width, n, render(bv))
		default:
			switch {
			case bv.IsNull() && av.IsNull():
			case !av.IsKnown() && !bv.IsNull():
				w.line("%s%s %-*s = %s -> (known after apply)%s", indent, w.symbol(plan.Update), width, n, render(bv), note)
			case bv.IsNull():
				w.line("%s%s %-*s = %s%s", indent, w.symbol(plan.Create), width, n, render(av), note)
			case av.IsNull():
				w.line("%s%s %-*s = %s -> null%s", indent, w.symbol(plan.Delete), width, n, render(bv), note)
			case bv.RawEquals(av):
				if n == "id" || n == "name" {
					w.line("%s  %-*s = %s", indent, width, n, render(bv))
				} else {
					hidden++
				}
			default:
				w.line("%s%s %-*s = %s -> %s%s", indent, w.symbol(plan.Update), width, n, render(bv), render(av), note)
			}
		}
	}
	for _, bn := range blk.BlockTypeNames() {
		nb := blk.BlockTypes[bn]
		bv, av := get(before, bn), get(after, bn)
		if bv.IsMarked() || av.IsMarked() {
			// Blocks built from a sensitive value are shown as one line.
			if !bv.RawEquals(av) || action == plan.Create || action == plan.Delete {
				w.line("%s%s %s = %s", indent, w.symbol(action), bn, plan.SensitiveValue)
			} else {
				hidden++
			}
			continue
		}
		elems := func(v cty.Value) []cty.Value {
			if v.IsNull() || !v.IsKnown() {
				return nil
			}
			if nb.Nesting == schema.NestingSingle {
				return []cty.Value{v}
			}
			var out []cty.Value
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				out = append(out, e)
			}
			return out
		}
		bs, as := elems(bv), elems(av)
		if inPlaceBlock(nb, bv, av, before, action) {
			// One block on both sides (a data volume that grows): its
			// attributes change in place; it is not removed and added.
			if bv.RawEquals(av) {
				hidden++
			} else {
				w.line("%s%s %s {", indent, w.symbol(plan.Update), bn)
				w.blockDiff(&nb.Block, bv, av, nil, indent+"    ", plan.Update)
				w.line("%s  }", indent)
			}
			continue
		}
		contains := func(list []cty.Value, x cty.Value) bool {
			for _, y := range list {
				if y.RawEquals(x) {
					return true
				}
			}
			return false
		}
		emit := func(act plan.Action, e cty.Value) {
			w.line("%s%s %s {", indent, w.symbol(act), bn)
			if act == plan.Create {
				w.blockDiff(&nb.Block, cty.NilVal, e, nil, indent+"    ", plan.Create)
			} else {
				w.blockDiff(&nb.Block, e, cty.NilVal, nil, indent+"    ", plan.Delete)
			}
			w.line("%s  }", indent)
		}
		for _, e := range bs {
			if action == plan.Delete || !contains(as, e) {
				emit(plan.Delete, e)
			} else if action != plan.Create {
				hidden++
			}
		}
		for _, e := range as {
			if action == plan.Create || (action == plan.Replace && (before == cty.NilVal || before.IsNull())) || !contains(bs, e) {
				emit(plan.Create, e)
			}
		}
	}
	if hidden > 0 {
		w.line("%s  # (%d unchanged %s hidden)", indent, hidden, plural(hidden, "attribute", "attributes"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ValueString renders a value as HCL, for outputs and show.
func ValueString(v cty.Value) string { return valueString(v, "") }

// ValueStringIndent renders a value as HCL with nested lines indented.
func ValueStringIndent(v cty.Value, indent string) string { return valueString(v, indent) }
