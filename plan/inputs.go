package plan

import (
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// Kinds of the files a saved plan was made from (InputFile.Kind).
const (
	InputConfig  = "config"   // a *.hcl file of the configuration directory
	InputVarFile = "var-file" // a -var-file
	InputFileFn  = "file()"   // a file read by the file() function
	InputLock    = "lock"     // mlops.lock.hcl
)

// Inputs are what a saved plan was made from besides the state (whose
// lineage and serial the Plan holds): the digests of every file read, and
// where each variable's value came from. Apply of a saved plan refuses it
// when any of them moved, naming what did.
type Inputs struct {
	Files []InputFile
	// VariableSources maps each variable to where its value came from
	// (config.Variable.Source).
	VariableSources map[string]string
}

// InputFile is one file a plan was made from. Path is relative to the
// configuration directory for config and lock files, absolute otherwise.
// Digest is "sha256:HEX", or "" when the file did not exist (a lock file that
// appears later moves the plan too).
type InputFile struct {
	Kind   string
	Path   string
	Digest string
}

// Compare returns the first difference between a saved plan p and a plan
// made afresh from the same inputs, in words that name what moved; "" when
// the fresh plan would do exactly what p says. Values are compared after
// the same round trip through the plan file encoding and never printed:
// they may be sensitive.
func (p *Plan) Compare(fresh *Plan) string {
	if p.Destroy != fresh.Destroy {
		return "the plan's mode (destroy or not) differs"
	}
	saved := map[string]*Change{}
	for _, c := range p.Changes {
		saved[c.Addr.String()] = c
	}
	for _, f := range fresh.Changes {
		s := saved[f.Addr.String()]
		if s == nil {
			if f.Action != NoOp || f.LayerActions() > 0 {
				return fmt.Sprintf("%s would now %s, which the saved plan does not", f.Addr, f.Action.Verb())
			}
			continue
		}
		delete(saved, f.Addr.String())
		if s.Action != f.Action {
			return fmt.Sprintf("%s was planned to %s, now to %s", s.Addr, s.Action.Verb(), f.Action.Verb())
		}
		if path := firstDifference(s.After, f.After); path != "" {
			return fmt.Sprintf("%s: the planned value of %s differs from the saved plan", s.Addr, path)
		}
		if msg := compareLayers(s, f); msg != "" {
			return msg
		}
	}
	for addr, s := range saved {
		if s.Action != NoOp || s.LayerActions() > 0 {
			return fmt.Sprintf("%s was planned to %s, now it has nothing to do", addr, s.Action.Verb())
		}
	}
	outs := map[string]*OutputChange{}
	for _, o := range p.Outputs {
		outs[o.Name] = o
	}
	for _, f := range fresh.Outputs {
		s := outs[f.Name]
		if s == nil {
			return fmt.Sprintf("output %q is not in the saved plan", f.Name)
		}
		delete(outs, f.Name)
		if s.Action != f.Action || s.Sensitive != f.Sensitive || firstDifference(s.After, f.After) != "" {
			return fmt.Sprintf("output %q differs from the saved plan", f.Name)
		}
	}
	for name := range outs {
		return fmt.Sprintf("output %q of the saved plan is no longer planned", name)
	}
	return ""
}

func compareLayers(s, f *Change) string {
	active := func(c *Change) map[string]*LayerChange {
		m := map[string]*LayerChange{}
		for _, l := range c.Layers {
			m[l.Addr.Name] = l
		}
		return m
	}
	sl, fl := active(s), active(f)
	names := map[string]bool{}
	for n := range sl {
		names[n] = true
	}
	for n := range fl {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		a, b := sl[n], fl[n]
		switch {
		case a == nil:
			return fmt.Sprintf("%s.layer.%s is not in the saved plan", s.Addr, n)
		case b == nil:
			return fmt.Sprintf("%s.layer.%s of the saved plan is no longer configured", s.Addr, n)
		case a.Action != b.Action:
			return fmt.Sprintf("%s.layer.%s was planned to %s, now to %s", s.Addr, n, a.Action.Verb(), b.Action.Verb())
		case a.Digest != b.Digest:
			return fmt.Sprintf("%s.layer.%s: its settings differ from the saved plan", s.Addr, n)
		case a.Reapply != b.Reapply:
			return fmt.Sprintf("%s.layer.%s: the host's state moved since the plan", s.Addr, n)
		}
	}
	return ""
}

// firstDifference names the first attribute (a dotted path) where a and b
// differ after the plan file round trip, "(value)" when they differ at the
// top, and "" when they are equal.
func firstDifference(a, b cty.Value) string {
	a, b = roundTrip(a), roundTrip(b)
	if a.RawEquals(b) {
		return ""
	}
	if a.Type().IsObjectType() && b.Type().IsObjectType() && a.IsKnown() && b.IsKnown() && !a.IsNull() && !b.IsNull() {
		var names []string
		for n := range a.Type().AttributeTypes() {
			names = append(names, n)
		}
		for n := range b.Type().AttributeTypes() {
			if !a.Type().HasAttribute(n) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			if !a.Type().HasAttribute(n) || !b.Type().HasAttribute(n) {
				return n
			}
			if sub := firstDifference(a.GetAttr(n), b.GetAttr(n)); sub != "" {
				if sub == "(value)" {
					return n
				}
				return n + "." + sub
			}
		}
	}
	return "(value)"
}

// roundTrip passes v through the plan file's value encoding, so that a
// value made now compares equal to the same value read from a plan file.
func roundTrip(v cty.Value) cty.Value {
	v, _ = v.UnmarkDeep()
	fv, err := encodeFileValue(v)
	if err != nil {
		return v
	}
	out, err := decodeFileValue(fv)
	if err != nil {
		return v
	}
	return out
}

// describeInputFile names a file for a message.
func describeInputFile(f InputFile) string {
	switch f.Kind {
	case InputFileFn:
		return "the file " + f.Path + " (read by file())"
	case InputVarFile:
		return "the variables file " + f.Path
	case InputLock:
		return "the lock file " + f.Path
	}
	return f.Path
}

// CompareFiles returns, for each recorded file whose digest now (given by
// digest, "" for a missing file) differs, a sentence naming it; plus the
// config files present now but not recorded (added). An empty result means
// no file moved.
func (in *Inputs) CompareFiles(digest func(InputFile) string, configNow []string) []string {
	if in == nil {
		return []string{"the saved plan records no inputs"}
	}
	var out []string
	recorded := map[string]bool{}
	for _, f := range in.Files {
		if f.Kind == InputConfig {
			recorded[f.Path] = true
		}
		now := digest(f)
		switch {
		case now == f.Digest:
		case f.Digest == "":
			out = append(out, describeInputFile(f)+" was created since the plan was made")
		case now == "":
			out = append(out, describeInputFile(f)+" was removed since the plan was made")
		default:
			out = append(out, describeInputFile(f)+" changed since the plan was made")
		}
	}
	for _, name := range configNow {
		if !recorded[name] {
			out = append(out, name+" was added since the plan was made")
		}
	}
	return out
}

// FileFnPaths are the paths of the files read by file() at plan time.
func (in *Inputs) FileFnPaths() map[string]bool {
	out := map[string]bool{}
	if in == nil {
		return out
	}
	for _, f := range in.Files {
		if f.Kind == InputFileFn {
			out[f.Path] = true
		}
	}
	return out
}

// VarFiles are the -var-file paths the plan was made with, in order.
func (in *Inputs) VarFiles() []string {
	var out []string
	if in == nil {
		return out
	}
	for _, f := range in.Files {
		if f.Kind == InputVarFile {
			out = append(out, f.Path)
		}
	}
	return out
}
