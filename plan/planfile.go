package plan

import (
	"encoding/json"
	"fmt"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

// PlanFileVersion is the format of saved plans (mlops plan -out). Version 2
// added the inputs, the host keys seen at plan and the content digest.
const PlanFileVersion = 2

// A saved plan keeps cty values as msgpack, which, unlike JSON, can hold
// unknown values ("known after apply").
type fileValue struct {
	Type  json.RawMessage `json:"type"`
	Value []byte          `json:"msgpack"`
}

type fileLayer struct {
	Addr    string   `json:"address"`
	Kind    string   `json:"kind"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons,omitempty"`
	Digest  string   `json:"digest,omitempty"`
	Reapply bool     `json:"reapply,omitempty"`
}

type fileChange struct {
	Addr           string      `json:"address"`
	Action         string      `json:"action"`
	Before         fileValue   `json:"before"`
	After          fileValue   `json:"after"`
	ReplacePaths   []string    `json:"replace_paths,omitempty"`
	Reasons        []string    `json:"reasons,omitempty"`
	Notes          []string    `json:"notes,omitempty"`
	Layers         []fileLayer `json:"layers,omitempty"`
	HostNote       string      `json:"host_note,omitempty"`
	PreventDestroy bool        `json:"prevent_destroy,omitempty"`
	Dependencies   []string    `json:"dependencies,omitempty"`
	Loses          string      `json:"loses,omitempty"`
	Sensitive      []string    `json:"sensitive_attributes,omitempty"`
}

type fileOutput struct {
	Name      string    `json:"name"`
	Action    string    `json:"action"`
	Before    fileValue `json:"before"`
	After     fileValue `json:"after"`
	Sensitive bool      `json:"sensitive,omitempty"`
}

type planFile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Destroy bool   `json:"destroy,omitempty"`
	Upgrade bool   `json:"upgrade,omitempty"`
	// Notes and LockChanges are kept for mlops show; apply makes its own.
	Notes       []string             `json:"notes,omitempty"`
	LockChanges []LockChange         `json:"lock_changes,omitempty"`
	Lineage     string               `json:"lineage"`
	Serial      uint64               `json:"serial"`
	Variables   map[string]fileValue `json:"variables"`
	Changes     []fileChange         `json:"changes"`
	Outputs     []fileOutput         `json:"outputs,omitempty"`
	// ReplacePaths are stored as rendered strings plus as msgpack paths.
	ReplacePathValues map[string][]fileValue `json:"replace_path_values,omitempty"`
	// Replace are the -replace addresses the plan was made with.
	Replace []string `json:"replace,omitempty"`
	// Deletes are the -delete addresses the plan was made with.
	Deletes  []string          `json:"deletes,omitempty"`
	Inputs   *fileInputs       `json:"inputs,omitempty"`
	HostKeys map[string]string `json:"host_keys,omitempty"`
	// Digest is the SHA-256 of the file's content with Digest empty (see
	// contentDigest); a plan file edited after it was written is refused.
	Digest string `json:"digest"`
}

func encodeFileValue(v cty.Value) (fileValue, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return fileValue{}, err
	}
	b, err := ctymsgpack.Marshal(v, v.Type())
	if err != nil {
		return fileValue{}, err
	}
	return fileValue{Type: ty, Value: b}, nil
}

func decodeFileValue(fv fileValue) (cty.Value, error) {
	ty, err := ctyjson.UnmarshalType(fv.Type)
	if err != nil {
		return cty.NilVal, err
	}
	return ctymsgpack.Unmarshal(fv.Value, ty)
}

// pathToValues encodes a path as a list of step values (strings for
// attributes, numbers or strings for indexes) for saving.
func pathToValues(p cty.Path) []fileValue {
	var out []fileValue
	for _, s := range p {
		var v cty.Value
		switch s := s.(type) {
		case cty.GetAttrStep:
			v = cty.ObjectVal(map[string]cty.Value{"attr": cty.StringVal(s.Name)})
		case cty.IndexStep:
			v = cty.ObjectVal(map[string]cty.Value{"index": s.Key})
		}
		if fv, err := encodeFileValue(v); err == nil {
			out = append(out, fv)
		}
	}
	return out
}

func valuesToPath(vs []fileValue) cty.Path {
	var p cty.Path
	for _, fv := range vs {
		v, err := decodeFileValue(fv)
		if err != nil || !v.Type().IsObjectType() {
			continue
		}
		if v.Type().HasAttribute("attr") {
			// A hand-edited file may hold anything here.
			if name := v.GetAttr("attr"); name.Type() == cty.String && name.IsKnown() && !name.IsNull() {
				p = p.GetAttr(name.AsString())
			}
		} else if v.Type().HasAttribute("index") {
			p = p.Index(v.GetAttr("index"))
		}
	}
	return p
}

// Marshal encodes the plan for `mlops plan -out`.
func Marshal(p *Plan) ([]byte, error) {
	f := planFile{Format: "mlops-plan", Version: PlanFileVersion, Destroy: p.Destroy, Upgrade: p.Upgrade, Lineage: p.Lineage, Serial: p.Serial,
		Variables: map[string]fileValue{}, ReplacePathValues: map[string][]fileValue{}, Notes: p.Notes, Replace: addrStrings(p.Replace), Deletes: addrStrings(p.Deletes)}
	for _, lc := range p.LockChanges {
		f.LockChanges = append(f.LockChanges, *lc)
	}
	for n, v := range p.Variables {
		fv, err := encodeFileValue(v)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", n, err)
		}
		f.Variables[n] = fv
	}
	for _, c := range p.Changes {
		fc := fileChange{Addr: c.Addr.String(), Action: c.Action.Verb(), Reasons: c.Reasons, Notes: c.Notes,
			HostNote: c.HostNote, PreventDestroy: c.PreventDestroy, Dependencies: addrStrings(c.Dependencies), Loses: c.Loses, Sensitive: c.Sensitive}
		var err error
		if fc.Before, err = encodeFileValue(c.Before); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Addr, err)
		}
		if fc.After, err = encodeFileValue(c.After); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Addr, err)
		}
		for i, rp := range c.ReplacePaths {
			fc.ReplacePaths = append(fc.ReplacePaths, pathString(rp))
			f.ReplacePathValues[fmt.Sprintf("%s#%d", c.Addr, i)] = pathToValues(rp)
		}
		for _, l := range c.Layers {
			fc.Layers = append(fc.Layers, fileLayer{Addr: l.Addr.String(), Kind: l.Kind, Action: l.Action.Verb(), Reasons: l.Reasons, Digest: l.Digest, Reapply: l.Reapply})
		}
		f.Changes = append(f.Changes, fc)
	}
	for _, o := range p.Outputs {
		fo := fileOutput{Name: o.Name, Action: o.Action.Verb(), Sensitive: o.Sensitive}
		var err error
		if fo.Before, err = encodeFileValue(o.Before); err != nil {
			return nil, err
		}
		if fo.After, err = encodeFileValue(o.After); err != nil {
			return nil, err
		}
		f.Outputs = append(f.Outputs, fo)
	}
	f.Inputs = encodeInputs(p.Inputs)
	f.HostKeys = p.HostKeys
	digest, err := contentDigest(f)
	if err != nil {
		return nil, err
	}
	f.Digest = digest
	return json.MarshalIndent(f, "", "  ")
}

// Unmarshal decodes a saved plan, refusing other formats and versions.
func Unmarshal(b []byte) (*Plan, error) {
	var f planFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a saved mlops plan: %w", err)
	}
	if f.Format != "mlops-plan" {
		return nil, fmt.Errorf("not a saved mlops plan (format %q)", f.Format)
	}
	if f.Version != PlanFileVersion {
		return nil, fmt.Errorf("saved plan has format version %d; this mlops reads version %d", f.Version, PlanFileVersion)
	}
	if err := checkDigest(f); err != nil {
		return nil, err
	}
	p := &Plan{Destroy: f.Destroy, Lineage: f.Lineage, Serial: f.Serial, Variables: map[string]cty.Value{},
		Inputs: decodeInputs(f.Inputs), HostKeys: f.HostKeys, Replace: parseAddrs(f.Replace), Deletes: parseAddrs(f.Deletes), Upgrade: f.Upgrade, Notes: f.Notes}
	for _, lc := range f.LockChanges {
		p.LockChanges = append(p.LockChanges, &lc)
	}
	for n, fv := range f.Variables {
		v, err := decodeFileValue(fv)
		if err != nil {
			return nil, fmt.Errorf("saved plan: variable %s: %w", n, err)
		}
		p.Variables[n] = v
	}
	for _, fc := range f.Changes {
		addr, err := addrs.ParseResource(fc.Addr)
		if err != nil {
			return nil, fmt.Errorf("saved plan: %w", err)
		}
		c := &Change{Addr: addr, Action: ParseAction(fc.Action), Reasons: fc.Reasons, Notes: fc.Notes, HostNote: fc.HostNote,
			PreventDestroy: fc.PreventDestroy, Dependencies: parseAddrs(fc.Dependencies), Loses: fc.Loses, Sensitive: fc.Sensitive}
		if c.Before, err = decodeFileValue(fc.Before); err != nil {
			return nil, fmt.Errorf("saved plan: %s: %w", fc.Addr, err)
		}
		if c.After, err = decodeFileValue(fc.After); err != nil {
			return nil, fmt.Errorf("saved plan: %s: %w", fc.Addr, err)
		}
		for i := range fc.ReplacePaths {
			c.ReplacePaths = append(c.ReplacePaths, valuesToPath(f.ReplacePathValues[fmt.Sprintf("%s#%d", fc.Addr, i)]))
		}
		for _, fl := range fc.Layers {
			la, err := addrs.ParseLayer(fl.Addr)
			if err != nil {
				return nil, fmt.Errorf("saved plan: %w", err)
			}
			c.Layers = append(c.Layers, &LayerChange{Addr: la, Kind: fl.Kind, Action: ParseAction(fl.Action), Reasons: fl.Reasons, Digest: fl.Digest, Reapply: fl.Reapply})
		}
		p.Changes = append(p.Changes, c)
	}
	for _, fo := range f.Outputs {
		o := &OutputChange{Name: fo.Name, Action: ParseAction(fo.Action), Sensitive: fo.Sensitive}
		var err error
		if o.Before, err = decodeFileValue(fo.Before); err != nil {
			return nil, err
		}
		if o.After, err = decodeFileValue(fo.After); err != nil {
			return nil, err
		}
		p.Outputs = append(p.Outputs, o)
	}
	return p, nil
}
