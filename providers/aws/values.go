package aws

import (
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// This file holds small helpers to read and build cty values. Readers treat
// a null or unknown object, or a null or unknown attribute, as absent.

// getAttr returns the attribute, or a null value when obj is null, unknown
// or has no such attribute.
func getAttr(obj cty.Value, name string) cty.Value {
	if obj.IsNull() || !obj.IsKnown() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return obj.GetAttr(name)
}

// isSet reports whether the attribute is known and not null.
func isSet(obj cty.Value, name string) bool {
	v := getAttr(obj, name)
	return v.IsKnown() && !v.IsNull()
}

func isUnknown(obj cty.Value, name string) bool {
	return !getAttr(obj, name).IsKnown()
}

func getString(obj cty.Value, name string) string {
	v := getAttr(obj, name)
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func getBool(obj cty.Value, name string, def bool) bool {
	v := getAttr(obj, name)
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		return def
	}
	return v.True()
}

// getInt returns a number attribute as an int64; ok is false when it is
// absent or not a whole number.
func getInt(obj cty.Value, name string) (int64, bool) {
	return asInt(getAttr(obj, name))
}

func asInt(v cty.Value) (int64, bool) {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	i, acc := bf.Int64()
	return i, acc == big.Exact
}

// getStrings returns a list of strings; unknown or null elements are skipped.
func getStrings(obj cty.Value, name string) []string {
	return asStrings(getAttr(obj, name))
}

func asStrings(v cty.Value) []string {
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType()) {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

// getStringMap returns a map of strings; unknown or null elements are skipped.
func getStringMap(obj cty.Value, name string) map[string]string {
	v := getAttr(obj, name)
	out := map[string]string{}
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

func stringOrNull(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

// objectOf builds a value of the block's implied type from attrs: missing
// attributes are null, and values are converted to the attribute's type
// (so that an empty list of strings has the right element type).
func objectOf(b *schema.Block, attrs map[string]cty.Value) cty.Value {
	ty := b.ImpliedType()
	vals := map[string]cty.Value{}
	for name, aty := range ty.AttributeTypes() {
		v, ok := attrs[name]
		if !ok || v == cty.NilVal {
			vals[name] = cty.NullVal(aty)
			continue
		}
		vals[name] = conformTo(v, aty)
	}
	return cty.ObjectVal(vals)
}

// conformTo gives v the type ty where v is null, unknown or an empty
// collection, whose types cty cannot infer.
func conformTo(v cty.Value, ty cty.Type) cty.Value {
	switch {
	case v.Type().Equals(ty):
		return v
	case !v.IsKnown():
		return cty.UnknownVal(ty)
	case v.IsNull():
		return cty.NullVal(ty)
	case ty.IsListType() && v.LengthInt() == 0:
		return cty.ListValEmpty(ty.ElementType())
	case ty.IsMapType() && v.LengthInt() == 0:
		return cty.MapValEmpty(ty.ElementType())
	}
	return v
}

// withAttrs returns obj with some attributes replaced.
func withAttrs(obj cty.Value, attrs map[string]cty.Value) cty.Value {
	vals := obj.AsValueMap()
	if vals == nil {
		vals = map[string]cty.Value{}
	}
	for k, v := range attrs {
		vals[k] = conformTo(v, obj.Type().AttributeType(k))
	}
	return cty.ObjectVal(vals)
}

// changed reports whether attribute name differs between prior and config;
// an unknown config value counts as a change.
func changed(prior, config cty.Value, name string) bool {
	c := getAttr(config, name)
	if !c.IsKnown() {
		return true
	}
	pv := getAttr(prior, name)
	if c.IsNull() && pv.IsNull() {
		return false
	}
	if c.IsNull() != pv.IsNull() {
		return true
	}
	return !c.Equals(pv).True()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apiDiag turns an SDK error into a diagnostic saying what failed:
// "creating EC2 instance: api error UnauthorizedOperation: ...".
func apiDiag(what string, err error) hcl.Diagnostics {
	if d := explainAPIError(what, err); d != nil {
		return d
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Error " + what,
		Detail:   what + ": " + describeError(err),
	}}
}

// describeError is the short form of an SDK error: the API error code and
// message when there is one, else the error text.
func describeError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("api error %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err.Error()
}

// errorCode returns the API error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errorDiag(summary, detail string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...)}}
}

func warningDiag(summary, detail string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(detail, args...)}}
}
