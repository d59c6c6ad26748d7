package addrs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// InstanceKey tells the instances of a resource with count or for_each
// apart. It is "" for a resource with neither, and otherwise the index as
// written after the resource's name: [0] for count, ["alice"] for
// for_each. Keeping the written form makes Resource comparable and its
// String a plain concatenation.
type InstanceKey string

// NoKey is the key of a resource without count or for_each.
const NoKey InstanceKey = ""

// IntKey is the key of instance i of a resource with count.
func IntKey(i int) InstanceKey { return InstanceKey("[" + strconv.Itoa(i) + "]") }

// StringKey is the key of the instance of a for_each resource for key s.
func StringKey(s string) InstanceKey { return InstanceKey("[" + quoteKey(s) + "]") }

// quoteKey writes s as an HCL string literal: the escapes HCL and Go share.
func quoteKey(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// IsInt reports whether k is a count index.
func (k InstanceKey) IsInt() bool { return k != NoKey && k[1] != '"' }

// Int returns the count index of k (0 for a string key or no key).
func (k InstanceKey) Int() int {
	if !k.IsInt() {
		return 0
	}
	i, _ := strconv.Atoi(string(k[1 : len(k)-1]))
	return i
}

// Str returns the for_each key of k ("" for a count index or no key).
func (k InstanceKey) Str() string {
	if k == NoKey || k.IsInt() {
		return ""
	}
	s, _ := strconv.Unquote(string(k[1 : len(k)-1]))
	return s
}

// Value is the key as a cty value: a number for count, a string for
// for_each, cty.NilVal for no key.
func (k InstanceKey) Value() cty.Value {
	switch {
	case k == NoKey:
		return cty.NilVal
	case k.IsInt():
		return cty.NumberIntVal(int64(k.Int()))
	}
	return cty.StringVal(k.Str())
}

// MarshalJSON writes the key as its value, as state files record it:
// "alice" or 0.
func (k InstanceKey) MarshalJSON() ([]byte, error) {
	if k.IsInt() {
		return []byte(strconv.Itoa(k.Int())), nil
	}
	return json.Marshal(k.Str())
}

// UnmarshalJSON reads a key written by MarshalJSON.
func (k *InstanceKey) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*k = NoKey
	case string:
		*k = StringKey(x)
	case float64:
		if x < 0 || x != float64(int(x)) {
			return fmt.Errorf("invalid instance key %s", b)
		}
		*k = IntKey(int(x))
	default:
		return fmt.Errorf("invalid instance key %s", b)
	}
	return nil
}

// parseKey reads an instance key as written after a resource name:
// [3] or ["alice"]. It returns the canonical form.
func parseKey(s string) (InstanceKey, error) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return NoKey, fmt.Errorf("invalid instance key %q: expected [INDEX] or [\"KEY\"]", s)
	}
	in := s[1 : len(s)-1]
	if in[0] == '"' {
		v, err := strconv.Unquote(in)
		if err != nil {
			return NoKey, fmt.Errorf("invalid instance key %q: the key must be a quoted string", s)
		}
		return StringKey(v), nil
	}
	i, err := strconv.Atoi(in)
	if err != nil || i < 0 || strconv.Itoa(i) != in {
		return NoKey, fmt.Errorf("invalid instance key %q: an index is a whole number from 0", s)
	}
	return IntKey(i), nil
}

// NoKey returns the address of the resource block r is an instance of:
// aws_instance.box for aws_instance.box["alice"]. Configuration, schemas
// and dependencies are per block; plans and state are per instance.
func (r Resource) NoKey() Resource {
	r.Key = NoKey
	return r
}

// Instance returns the instance of r with key k.
func (r Resource) Instance(k InstanceKey) Resource {
	r.Key = k
	return r
}
