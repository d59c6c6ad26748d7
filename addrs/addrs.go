// Package addrs names the things mlops manages: resources, data sources and
// the software layers inside a resource. Addresses are plain values that
// every other package can share without importing each other.
package addrs

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Mode tells a managed resource from a data source.
type Mode byte

const (
	// Managed is a resource block: mlops creates, updates and deletes it.
	Managed Mode = 'M'
	// Data is a data block: mlops only reads it.
	Data Mode = 'D'
)

// Resource is the address of a resource or data block, such as
// aws_instance.web or data.aws_ami.ubuntu.
type Resource struct {
	Mode Mode
	Type string
	Name string
	// Key is the instance key of a resource with count or for_each
	// (aws_instance.box["alice"]), NoKey otherwise.
	Key InstanceKey
}

// String renders the address the way users write it in references.
func (r Resource) String() string {
	if r.Mode == Data {
		return "data." + r.Type + "." + r.Name + string(r.Key)
	}
	return r.Type + "." + r.Name + string(r.Key)
}

// Less orders addresses for stable output: by string form.
func (r Resource) Less(o Resource) bool { return r.String() < o.String() }

// ParseResource parses "type.name" or "data.type.name", optionally
// followed by an instance key: type.name[0] or type.name["alice"].
func ParseResource(s string) (Resource, error) {
	if i := strings.IndexByte(s, '['); i >= 0 {
		r, err := ParseResource(s[:i])
		if err != nil {
			return Resource{}, err
		}
		if r.Key, err = parseKey(s[i:]); err != nil {
			return Resource{}, err
		}
		return r, nil
	}
	parts := strings.Split(s, ".")
	switch {
	case len(parts) == 2 && validIdent(parts[0]) && validIdent(parts[1]) && parts[0] != "data":
		return Resource{Mode: Managed, Type: parts[0], Name: parts[1]}, nil
	case len(parts) == 3 && parts[0] == "data" && validIdent(parts[1]) && validIdent(parts[2]):
		return Resource{Mode: Data, Type: parts[1], Name: parts[2]}, nil
	}
	return Resource{}, fmt.Errorf("invalid resource address %q: expected TYPE.NAME or data.TYPE.NAME", s)
}

// Layer is the address of a software layer inside a resource:
// aws_instance.web.layer.docker.
type Layer struct {
	Resource Resource
	Name     string
}

func (l Layer) String() string { return l.Resource.String() + ".layer." + l.Name }

// ParseLayer parses "type.name.layer.layername".
func ParseLayer(s string) (Layer, error) {
	i := strings.LastIndex(s, ".layer.")
	if i < 0 {
		return Layer{}, fmt.Errorf("invalid layer address %q: expected TYPE.NAME.layer.LAYER", s)
	}
	r, err := ParseResource(s[:i])
	if err != nil || r.Mode != Managed {
		return Layer{}, fmt.Errorf("invalid layer address %q: expected TYPE.NAME.layer.LAYER", s)
	}
	name := s[i+len(".layer."):]
	if !validIdent(name) {
		return Layer{}, fmt.Errorf("invalid layer name in %q", s)
	}
	return Layer{Resource: r, Name: name}, nil
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidName reports whether s is a name mlops accepts for resources, layers,
// variables and outputs: an ASCII letter or underscore, then letters,
// digits, underscores and dashes. Every such name makes a parsable address.
func ValidName(s string) bool { return validIdent(s) }

// PathString renders an attribute path the way it is written in HCL,
// without a leading dot: tags["Name"], ingress[0].port.
func PathString(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case cty.IndexStep:
			switch {
			case !s.Key.IsKnown() || s.Key.IsNull():
				b.WriteString("[?]")
			case s.Key.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			case s.Key.Type() == cty.Number:
				if f := s.Key.AsBigFloat(); f.IsInt() && f.MantExp(nil) <= 64 {
					fmt.Fprintf(&b, "[%s]", f.Text('f', 0))
				} else {
					b.WriteString("[?]") // huge numbers take seconds to print
				}
			default:
				b.WriteString("[?]")
			}
		}
	}
	return b.String()
}
