package lockfile

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the golden lock file")

// sample is a lock as an apply of examples/zoomcamp records it.
func sample() *Lock {
	l := New()
	l.SetData("aws_ami", "ubuntu", cty.ObjectVal(map[string]cty.Value{
		"owners":           cty.ListVal([]cty.Value{cty.StringVal("099720109477")}),
		"name":             cty.StringVal("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"),
		"most_recent":      cty.True,
		"id":               cty.StringVal("ami-0a1b2c3d4e5f60718"),
		"image_name":       cty.StringVal("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261001"),
		"creation_date":    cty.StringVal("2026-10-01T08:15:00.000Z"),
		"architecture":     cty.StringVal("x86_64"),
		"owner_id":         cty.StringVal("099720109477"),
		"region":           cty.StringVal("eu-west-1"),
		"root_device_name": cty.StringVal("/dev/sda1"),
		"unset":            cty.NullVal(cty.String), // left out
	}))
	l.Downloads["https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh"] = &Download{
		URL: "https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh", SHA256: strings.Repeat("a1", 32)}
	l.Downloads["https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64"] = &Download{
		URL: "https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64", SHA256: strings.Repeat("0f", 32)}
	l.Layers["aws_instance.mlops_zoomcamp.layer.apt"] = &LayerPackages{Addr: "aws_instance.mlops_zoomcamp.layer.apt",
		Packages: map[string]string{"git": "1:2.34.1-1ubuntu1.11", "make": "4.3-4.1build1", "wget": "1.21.2-2ubuntu1", "libstdc++6": "12.3.0-1ubuntu1~22.04"}}
	l.Layers["aws_instance.mlops_zoomcamp.layer.docker"] = &LayerPackages{Addr: "aws_instance.mlops_zoomcamp.layer.docker",
		Packages: map[string]string{"docker.io": "24.0.7-0ubuntu2~22.04.1"}}
	return l
}

// TestGolden pins the format: canonical HCL, sorted, with the header.
// go test ./lockfile -update rewrites testdata/mlops.lock.hcl.
func TestGolden(t *testing.T) {
	got := sample().Bytes()
	path := filepath.Join("testdata", FileName)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Fatalf("lock file (-golden +got):\n%s", d)
	}
	// It reads back to the same lock.
	l, _, diags := Parse(got, FileName)
	if diags.HasErrors() {
		t.Fatalf("parsing the golden file: %s", diags.Error())
	}
	if d := cmp.Diff(string(got), string(l.Bytes())); d != "" {
		t.Fatalf("round trip (-first +second):\n%s", d)
	}
	if l.Layers["aws_instance.mlops_zoomcamp.layer.apt"].Packages["libstdc++6"] != "12.3.0-1ubuntu1~22.04" {
		t.Errorf("a package name that is no HCL identifier did not survive: %v", l.Layers["aws_instance.mlops_zoomcamp.layer.apt"].Packages)
	}
}

func TestCheckAgainstSchema(t *testing.T) {
	rs := &schema.Resource{Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"owners": {Type: cty.List(cty.String), Required: true},
		"name":   {Type: cty.String, Required: true},
		"id":     {Type: cty.String, Computed: true},
	}}}
	ds := map[string]*schema.Resource{"aws_ami": rs}
	l, _, diags := Parse([]byte("data \"aws_ami\" \"a\" {\n  id     = \"ami-1\"\n  owners = [\"1\"]\n}\n"), FileName)
	if diags.HasErrors() || l.Check(ds).HasErrors() {
		t.Fatalf("a good entry: %s %s", diags.Error(), l.Check(ds).Error())
	}
	v, err := l.Data["data.aws_ami.a"].Value(rs)
	if err != nil || v.GetAttr("id").AsString() != "ami-1" || !v.GetAttr("name").IsNull() || v.GetAttr("owners").LengthInt() != 1 {
		t.Fatalf("Value: %#v %v", v, err)
	}
	for src, want := range map[string]string{
		"data \"aws_amx\" \"a\" {\n  id = \"ami-1\"\n}\n":                       `lock:1: Invalid lock entry: "aws_amx" is not a data source type`,
		"data \"aws_ami\" \"a\" {\n  id = \"ami-1\"\n  colour = 1\n}\n":         "lock:1: Invalid lock entry: data.aws_ami.a: colour is not an attribute of aws_ami.",
		"data \"aws_ami\" \"a\" {\n  id = \"ami-1\"\n  owners = { a = 1 }\n}\n": "lock:1: Invalid lock entry: data.aws_ami.a: owners:",
	} {
		l, _, diags := Parse([]byte(src), "lock")
		if diags.HasErrors() {
			t.Fatalf("%q: %s", src, diags.Error())
		}
		got := diagLines(l.Check(ds))
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}

func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		pos := ""
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d: ", d.Subject.Filename, d.Subject.Start.Line)
		}
		out = append(out, pos+d.Summary+": "+d.Detail)
	}
	return out
}

// TestParseErrors: every problem of a lock file, with its line.
func TestParseErrors(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name, src string
		want      []string // prefixes of "file:line: Summary: Detail"
	}{
		{"syntax", "data \"aws_ami\" \"a\" {\n  id = \n}\n", []string{"lock:2: Invalid expression"}},
		{"unknown block", "provider \"aws\" {}\n", []string{"lock:1: Unsupported block type"}},
		{"reference", "download \"http://x/y\" {\n  sha256 = var.s\n}\n", []string{"lock:2: Invalid lock file value: sha256 must be a literal value"}},
		{"bad checksum", "download \"http://x/y\" {\n  sha256 = \"abc\"\n}\n", []string{"lock:2: Invalid checksum"}},
		{"missing checksum", "download \"http://x/y\" {\n}\n", []string{"lock:1: Missing required argument"}},
		{"no id", "data \"aws_ami\" \"a\" {\n  name = \"x\"\n}\n", []string{"lock:1: Invalid lock entry: data.aws_ami.a has no id"}},
		{"duplicate", "download \"u\" {\n  sha256 = \"" + sum + "\"\n}\ndownload \"u\" {\n  sha256 = \"" + sum + "\"\n}\n",
			[]string{"lock:4: Duplicate lock entry"}},
		{"not a layer address", "layer \"aws_instance.a\" {\n  packages = {}\n}\n", []string{"lock:1: Invalid lock entry"}},
		{"hostile version", "layer \"host.a.layer.apt\" {\n  packages = { git = \"1.0; rm -rf /\" }\n}\n",
			[]string{"lock:2: Invalid lock entry: the version of package git"}},
		{"hostile name", "layer \"host.a.layer.apt\" {\n  packages = { \"g$(id)\" = \"1.0\" }\n}\n",
			[]string{"lock:2: Invalid lock entry: \"g$(id)\" is not a Debian package name"}},
		{"packages not a map", "layer \"host.a.layer.apt\" {\n  packages = \"git\"\n}\n", []string{"lock:2: Invalid lock entry: packages must be a map"}},
		{"all at once", "download \"u\" {\n  sha256 = 1\n}\nlayer \"x\" {\n  packages = {}\n}\n",
			[]string{"lock:2: Invalid checksum", "lock:4: Invalid lock entry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, diags := Parse([]byte(tt.src), "lock")
			got := diagLines(diags)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("diagnostic %d: got %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLoadAndWrite(t *testing.T) {
	dir := t.TempDir()
	l, f, diags := Load(dir)
	if f != nil || diags.HasErrors() || !l.Empty() {
		t.Fatalf("a missing lock file: %v %v %v", l, f, diags)
	}
	if err := Write(dir, sample()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("written lock: %v %v", st, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Write left files behind: %v", entries)
	}
	l, f, diags = Load(dir)
	if f == nil || diags.HasErrors() || string(l.Bytes()) != string(sample().Bytes()) {
		t.Fatalf("reading it back: %v", diags)
	}
	// A clone is independent of its original.
	c := l.Clone()
	c.Layers["aws_instance.mlops_zoomcamp.layer.apt"].Packages["git"] = "0"
	c.Data["data.aws_ami.ubuntu"].Attrs["id"] = cty.StringVal("ami-2")
	if string(l.Bytes()) != string(sample().Bytes()) {
		t.Error("changing a clone changed the original")
	}
	// An unwritable directory is an error, not a half-written file.
	if os.Getuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		if err := Write(ro, sample()); err == nil {
			t.Error("Write into a read-only directory succeeded")
		}
	}
}

// TestReadmeExample keeps the example in README.md ("Reproducible") as mlops
// writes it: it parses, and renders back to itself.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "```hcl\n# mlops.lock.hcl:")
	if start < 0 {
		t.Fatal("README.md has no lock file example")
	}
	s = s[start+len("```hcl\n"):]
	example := s[:strings.Index(s, "```")]
	l, _, diags := Parse([]byte(example), "README.md")
	if diags.HasErrors() {
		t.Fatalf("the README example does not parse: %s", diags.Error())
	}
	if d := cmp.Diff(example, string(l.Bytes())); d != "" {
		t.Errorf("the README example is not as mlops writes it (-README +mlops):\n%s", d)
	}
}
