// Package lockfile reads and writes mlops.lock.hcl, the file beside a
// configuration that pins what the configuration resolved: the result of
// each data source (an AMI's ID, name, owner, date and region), the sha256
// of each download that the configuration gives no checksum for, and the
// exact versions of the packages each layer installed. It is meant to be
// committed, so that a teammate or a new machine gets the same world.
//
// Reading a lock is like reading configuration: Parse returns diagnostics
// with source ranges and keeps going after the first problem. The plan
// engine decides what to use from a Lock and what changes in it; the
// command writes the new one (Write) after an apply. The format is
// canonical HCL: blocks sorted by key, attributes sorted by name.
package lockfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mlops-dev/mlops/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// FileName is the lock file's name in the configuration directory. The
// configuration loader skips it: it is not configuration.
const FileName = "mlops.lock.hcl"

// header starts every written lock file.
const header = `# mlops.lock.hcl: what this configuration resolved, written by mlops apply.
# Commit it: plan and apply use these values, so a teammate or a new machine
# gets the same image, package versions and downloads. Do not edit it by hand;
# mlops plan -upgrade shows what a fresh resolution would change, and
# mlops apply -upgrade records it.
`

// Lock is the content of a lock file. The zero value (or New) is an empty
// lock: nothing pinned yet.
type Lock struct {
	// Data holds data source results by address (data.aws_ami.ubuntu).
	Data map[string]*DataSource
	// Downloads holds the sha256 of each download by URL.
	Downloads map[string]*Download
	// Layers holds the installed package versions by layer address
	// (aws_instance.box.layer.apt).
	Layers map[string]*LayerPackages
}

// DataSource is one data source's resolved value.
type DataSource struct {
	Type, Name string
	// Attrs are the data source's attributes, as written: its arguments
	// (which say whether the entry still fits the configuration) and its
	// results.
	Attrs     map[string]cty.Value
	DeclRange hcl.Range
}

// Addr is the data source's address, data.TYPE.NAME.
func (d *DataSource) Addr() string { return "data." + d.Type + "." + d.Name }

// Download is the checksum of one downloaded file.
type Download struct {
	URL       string
	SHA256    string
	DeclRange hcl.Range
}

// LayerPackages are the package versions one layer installed.
type LayerPackages struct {
	Addr string
	// Packages maps package name to the exact version installed.
	Packages  map[string]string
	DeclRange hcl.Range
}

// New returns an empty lock.
func New() *Lock {
	return &Lock{Data: map[string]*DataSource{}, Downloads: map[string]*Download{}, Layers: map[string]*LayerPackages{}}
}

// Empty reports whether the lock pins nothing.
func (l *Lock) Empty() bool {
	return l == nil || len(l.Data)+len(l.Downloads)+len(l.Layers) == 0
}

// Clone returns a deep copy (cty values are immutable and shared).
func (l *Lock) Clone() *Lock {
	out := New()
	if l == nil {
		return out
	}
	for k, d := range l.Data {
		c := *d
		c.Attrs = make(map[string]cty.Value, len(d.Attrs))
		for n, v := range d.Attrs {
			c.Attrs[n] = v
		}
		out.Data[k] = &c
	}
	for k, d := range l.Downloads {
		c := *d
		out.Downloads[k] = &c
	}
	for k, lp := range l.Layers {
		c := *lp
		c.Packages = make(map[string]string, len(lp.Packages))
		for n, v := range lp.Packages {
			c.Packages[n] = v
		}
		out.Layers[k] = &c
	}
	return out
}

// Load reads dir/mlops.lock.hcl. A missing file is an empty lock, not an
// error. The parsed file is returned too (nil when missing), so that
// diagnostics can be rendered with source snippets.
func Load(dir string) (*Lock, *hcl.File, hcl.Diagnostics) {
	path := filepath.Join(dir, FileName)
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil, nil
	}
	if err != nil {
		return New(), nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the lock file",
			Detail: fmt.Sprintf("Reading %s failed: %s.", path, err)}}
	}
	return Parse(src, path)
}

// Parse reads a lock file's content; filename is used in diagnostic ranges.
func Parse(src []byte, filename string) (*Lock, *hcl.File, hcl.Diagnostics) {
	l := New()
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return l, file, diags
	}
	content, d := file.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "download", LabelNames: []string{"url"}},
		{Type: "layer", LabelNames: []string{"address"}},
	}})
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "data":
			diags = append(diags, l.parseData(b)...)
		case "download":
			diags = append(diags, l.parseDownload(b)...)
		case "layer":
			diags = append(diags, l.parseLayer(b)...)
		}
	}
	return l, file, diags
}

func diagf(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()}
}

// literal evaluates an attribute that must be a constant: a lock file is
// data, so it has no variables or functions.
func literal(a *hcl.Attribute) (cty.Value, hcl.Diagnostics) {
	if len(a.Expr.Variables()) > 0 {
		return cty.NilVal, hcl.Diagnostics{diagf(a.Expr.Range(), "Invalid lock file value",
			"%s must be a literal value: a lock file holds no references.", a.Name)}
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, hcl.Diagnostics{diagf(a.Expr.Range(), "Invalid lock file value", "%s must be a known literal value.", a.Name)}
	}
	return v, nil
}

func (l *Lock) parseData(b *hcl.Block) hcl.Diagnostics {
	d := &DataSource{Type: b.Labels[0], Name: b.Labels[1], Attrs: map[string]cty.Value{}, DeclRange: b.DefRange}
	if prev := l.Data[d.Addr()]; prev != nil {
		return hcl.Diagnostics{diagf(b.DefRange, "Duplicate lock entry", "%s is locked twice; the first entry is at %s.", d.Addr(), prev.DeclRange)}
	}
	attrs, diags := b.Body.JustAttributes()
	for name, a := range attrs {
		v, d2 := literal(a)
		diags = append(diags, d2...)
		if !d2.HasErrors() {
			d.Attrs[name] = v
		}
	}
	if id, ok := d.Attrs["id"]; !ok || id.Type() != cty.String || id.IsNull() || id.AsString() == "" {
		diags = append(diags, diagf(b.DefRange, "Invalid lock entry", "%s has no id: the lock records the data source's result.", d.Addr()))
	}
	l.Data[d.Addr()] = d
	return diags
}

func (l *Lock) parseDownload(b *hcl.Block) hcl.Diagnostics {
	url := b.Labels[0]
	if prev := l.Downloads[url]; prev != nil {
		return hcl.Diagnostics{diagf(b.DefRange, "Duplicate lock entry", "download %q is locked twice; the first entry is at %s.", url, prev.DeclRange)}
	}
	content, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "sha256", Required: true}}})
	a := content.Attributes["sha256"]
	if a == nil {
		return diags
	}
	v, d := literal(a)
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	if err := checkSHA256(v); err != nil {
		return append(diags, diagf(a.Expr.Range(), "Invalid checksum", "%s", err))
	}
	l.Downloads[url] = &Download{URL: url, SHA256: strings.ToLower(v.AsString()), DeclRange: b.DefRange}
	return diags
}

func checkSHA256(v cty.Value) error {
	if v.Type() != cty.String || v.IsNull() {
		return fmt.Errorf("sha256 must be a string of 64 hexadecimal digits")
	}
	s := v.AsString()
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return fmt.Errorf("sha256 must be 64 hexadecimal digits, not %q", s)
	}
	return nil
}

func (l *Lock) parseLayer(b *hcl.Block) hcl.Diagnostics {
	addr := b.Labels[0]
	if prev := l.Layers[addr]; prev != nil {
		return hcl.Diagnostics{diagf(b.DefRange, "Duplicate lock entry", "layer %s is locked twice; the first entry is at %s.", addr, prev.DeclRange)}
	}
	if !strings.Contains(addr, ".layer.") {
		return hcl.Diagnostics{diagf(b.LabelRanges[0], "Invalid lock entry", "%q is not a layer address, such as aws_instance.box.layer.apt.", addr)}
	}
	content, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "packages", Required: true}}})
	a := content.Attributes["packages"]
	if a == nil {
		return diags
	}
	v, d := literal(a)
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return append(diags, diagf(a.Expr.Range(), "Invalid lock entry", "packages must be a map of package name to version, such as { git = \"1:2.39.2-1.1\" }."))
	}
	lp := &LayerPackages{Addr: addr, Packages: map[string]string{}, DeclRange: b.DefRange}
	for it := v.ElementIterator(); it.Next(); {
		k, ver := it.Element()
		if ver.IsNull() || ver.Type() != cty.String || !validVersion(ver.AsString()) {
			diags = append(diags, diagf(a.Expr.Range(), "Invalid lock entry", "the version of package %s must be a Debian version string, such as \"1:2.39.2-1.1\".", k.AsString()))
			continue
		}
		if !validPackage(k.AsString()) {
			diags = append(diags, diagf(a.Expr.Range(), "Invalid lock entry", "%q is not a Debian package name.", k.AsString()))
			continue
		}
		lp.Packages[k.AsString()] = ver.AsString()
	}
	l.Layers[addr] = lp
	return diags
}

// validPackage accepts Debian package names (policy 5.6.1, plus an
// architecture qualifier such as :amd64).
func validPackage(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && !strings.ContainsRune("+-.:", rune(c)) {
			return false
		}
	}
	return true
}

// validVersion accepts Debian version strings (policy 5.6.12). The layer
// puts the version into a remote command (quoted), so nothing else passes.
func validVersion(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && !strings.ContainsRune(".+-~:", rune(c)) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// Bytes renders the lock in canonical form: the header, then data sources,
// downloads and layers, each sorted by key, attributes sorted by name.
func (l *Lock) Bytes() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	first := true
	sep := func() {
		if !first {
			body.AppendNewline()
		}
		first = false
	}
	for _, k := range sortedKeys(l.Data) {
		d := l.Data[k]
		sep()
		b := body.AppendNewBlock("data", []string{d.Type, d.Name}).Body()
		for _, n := range sortedKeys(d.Attrs) {
			if v := d.Attrs[n]; v != cty.NilVal && !v.IsNull() && v.IsWhollyKnown() {
				b.SetAttributeValue(n, v)
			}
		}
	}
	for _, k := range sortedKeys(l.Downloads) {
		sep()
		b := body.AppendNewBlock("download", []string{k}).Body()
		b.SetAttributeValue("sha256", cty.StringVal(l.Downloads[k].SHA256))
	}
	for _, k := range sortedKeys(l.Layers) {
		sep()
		b := body.AppendNewBlock("layer", []string{k}).Body()
		pkgs := map[string]cty.Value{}
		for n, v := range l.Layers[k].Packages {
			pkgs[n] = cty.StringVal(v)
		}
		if len(pkgs) == 0 {
			b.SetAttributeValue("packages", cty.EmptyObjectVal)
		} else {
			b.SetAttributeValue("packages", cty.ObjectVal(pkgs))
		}
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	if !first {
		buf.WriteString("\n")
	}
	buf.Write(hclwrite.Format(f.Bytes()))
	return buf.Bytes()
}

// Write stores the lock in dir atomically: a temporary file in the same
// directory, flushed, then renamed over the old one, so a crash leaves
// either the old lock or the new one, never half of one. The file is 0644:
// it holds no secret and is meant to be committed.
func Write(dir string, l *Lock) error {
	path := filepath.Join(dir, FileName)
	if err := atomicfile.Write(path, l.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
