package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// ctyCmp compares cty values (and structs holding them) by equality.
var ctyCmp = cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) })

func loadExample(t *testing.T, opts LoadOptions) *Config {
	t.Helper()
	c, diags := LoadFiles("/cfg", map[string][]byte{"main.hcl": readTestdata(t, "zoomcamp/main.hcl")}, opts)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", renderDiags(diags))
	}
	return c
}

// exampleValues are the states of the example's resources once they exist.
func exampleValues(t *testing.T, c *Config) Values {
	t.Helper()
	vals := Values{}
	set := func(addr addrs.Resource, attrs map[string]cty.Value) {
		v, diags := c.EvalResource(addr, nil)
		if diags.HasErrors() {
			t.Fatal(renderDiags(diags))
		}
		m := v.AsValueMap()
		for k, a := range attrs {
			m[k] = a
		}
		vals[addr] = cty.ObjectVal(m)
	}
	set(data("aws_ami", "ubuntu"), map[string]cty.Value{
		"id": cty.StringVal("ami-123"), "architecture": cty.StringVal("x86_64"),
	})
	set(managed("aws_key_pair", "razer"), map[string]cty.Value{
		"id": cty.StringVal("key-1"), "fingerprint": cty.StringVal("ab:cd"),
	})
	set(managed("aws_security_group", "ssh"), map[string]cty.Value{"id": cty.StringVal("sg-1")})
	return vals
}

func TestEvalResource(t *testing.T) {
	c := loadExample(t, testOpts())
	instance := managed("aws_instance", "mlops_zoomcamp")
	str := cty.StringVal
	nullStr := cty.NullVal(cty.String)

	tests := []struct {
		name string
		addr addrs.Resource
		vals func(*Config) Values
		want cty.Value
	}{
		{
			name: "instance before its dependencies exist",
			addr: instance,
			want: cty.ObjectVal(map[string]cty.Value{
				"ami":             cty.UnknownVal(cty.String),
				"instance_type":   str("t2.xlarge"),
				"key_pair":        cty.UnknownVal(cty.String),
				"security_groups": cty.ListVal([]cty.Value{cty.UnknownVal(cty.String)}),
				"disk_gb":         cty.NumberIntVal(30),
				"tags":            cty.MapVal(map[string]cty.Value{"Name": str("mlops-zoomcamp")}),
				"id":              nullStr,
				"public_ip":       nullStr,
				"private_ip":      nullStr,
			}),
		},
		{
			name: "instance with known dependencies",
			addr: instance,
			vals: func(c *Config) Values { return exampleValues(t, c) },
			want: cty.ObjectVal(map[string]cty.Value{
				"ami":             str("ami-123"),
				"instance_type":   str("t2.xlarge"),
				"key_pair":        str("razer"),
				"security_groups": cty.ListVal([]cty.Value{str("sg-1")}),
				"disk_gb":         cty.NumberIntVal(30),
				"tags":            cty.MapVal(map[string]cty.Value{"Name": str("mlops-zoomcamp")}),
				"id":              nullStr,
				"public_ip":       nullStr,
				"private_ip":      nullStr,
			}),
		},
		{
			name: "nested list blocks and defaults",
			addr: managed("aws_security_group", "ssh"),
			want: cty.ObjectVal(map[string]cty.Value{
				"name":        str("mlops-zoomcamp-ssh"),
				"description": str("SSH in"),
				"id":          nullStr,
				"ingress": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
					"port":        cty.NumberIntVal(22),
					"cidr_blocks": cty.ListVal([]cty.Value{str("0.0.0.0/0")}),
				})}),
			}),
		},
		{
			name: "data source",
			addr: data("aws_ami", "ubuntu"),
			want: cty.ObjectVal(map[string]cty.Value{
				"owners":       cty.ListVal([]cty.Value{str("099720109477")}),
				"name":         str("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"),
				"id":           nullStr,
				"architecture": nullStr,
			}),
		},
		{
			name: "resource without attributes",
			addr: managed("host", "lab_gpu"),
			want: cty.ObjectVal(map[string]cty.Value{"labels": cty.NullVal(cty.Map(cty.String))}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var vals Values
			if tt.vals != nil {
				vals = tt.vals(c)
			}
			got, diags := c.EvalResource(tt.addr, vals)
			if len(diags) > 0 {
				t.Fatal(renderDiags(diags))
			}
			if d := cmp.Diff(tt.want, got, ctyCmp); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if !got.Type().Equals(c.Resources[tt.addr].Schema.ImpliedType()) {
				t.Errorf("type %#v does not conform to the schema", got.Type())
			}
		})
	}
}

func TestEvalResourceDefaults(t *testing.T) {
	c := mustLoad(t, `
resource "aws_instance" "a" { ami = "ami-1" }
resource "aws_security_group" "s" { name = "s" }
`, testOpts())
	got, diags := c.EvalResource(managed("aws_instance", "a"), nil)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	want := cty.ObjectVal(map[string]cty.Value{
		"ami":             cty.StringVal("ami-1"),
		"instance_type":   cty.StringVal("t3.micro"),
		"key_pair":        cty.NullVal(cty.String),
		"security_groups": cty.NullVal(cty.List(cty.String)),
		"disk_gb":         cty.NumberIntVal(8),
		"tags":            cty.NullVal(cty.Map(cty.String)),
		"id":              cty.NullVal(cty.String),
		"public_ip":       cty.NullVal(cty.String),
		"private_ip":      cty.NullVal(cty.String),
	})
	if d := cmp.Diff(want, got, ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	sg, _ := c.EvalResource(managed("aws_security_group", "s"), nil)
	ingress := sg.GetAttr("ingress")
	if !ingress.Type().IsListType() || ingress.LengthInt() != 0 || !ingress.IsKnown() {
		t.Errorf("ingress = %#v, want an empty list", ingress)
	}
}

func TestEvalSSH(t *testing.T) {
	instance := managed("aws_instance", "mlops_zoomcamp")
	self := func(ip cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"ami": cty.StringVal("ami-123"), "instance_type": cty.StringVal("t2.xlarge"),
			"key_pair": cty.StringVal("razer"), "security_groups": cty.ListVal([]cty.Value{cty.StringVal("sg-1")}),
			"disk_gb": cty.NumberIntVal(30), "tags": cty.MapValEmpty(cty.String),
			"id": cty.StringVal("i-1"), "public_ip": ip, "private_ip": cty.StringVal("10.0.0.5"),
		})
	}
	tests := []struct {
		name     string
		vars     []string
		withVals bool
		self     cty.Value
		want     SSHSettings
	}{
		{
			name: "nothing exists yet",
			self: cty.NilVal,
			want: SSHSettings{Port: 22, User: "ubuntu", Timeout: 5 * time.Minute, Known: false},
		},
		{
			name:     "host from self.public_ip",
			withVals: true,
			self:     self(cty.StringVal("54.1.2.3")),
			want: SSHSettings{
				Host: "54.1.2.3", Port: 22, User: "ubuntu", PrivateKey: "/home/me/.ssh/razer.pem",
				Timeout: 5 * time.Minute, Known: true,
			},
		},
		{
			name:     "host from var.ssh_host wins over self",
			vars:     []string{"ssh_host=bastion.example"},
			withVals: true,
			self:     self(cty.UnknownVal(cty.String)),
			want: SSHSettings{
				Host: "bastion.example", Port: 22, User: "ubuntu", PrivateKey: "/home/me/.ssh/razer.pem",
				Timeout: 5 * time.Minute, Known: true,
			},
		},
		{
			name:     "public ip not known yet",
			withVals: true,
			self:     self(cty.UnknownVal(cty.String)),
			want: SSHSettings{
				Port: 22, User: "ubuntu", PrivateKey: "/home/me/.ssh/razer.pem",
				Timeout: 5 * time.Minute, Known: false,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOpts()
			opts.Vars = tt.vars
			c := loadExample(t, opts)
			var vals Values
			if tt.withVals {
				vals = exampleValues(t, c)
			}
			got, diags := c.EvalSSH(instance, vals, tt.self)
			if len(diags) > 0 {
				t.Fatal(renderDiags(diags))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	t.Run("lab host", func(t *testing.T) {
		c := loadExample(t, testOpts())
		got, diags := c.EvalSSH(managed("host", "lab_gpu"), nil, cty.NilVal)
		if len(diags) > 0 {
			t.Fatal(renderDiags(diags))
		}
		want := SSHSettings{
			Host: "gpu.lab.example", Port: 22, User: "me", PrivateKey: "/home/me/.ssh/id_ed25519",
			Timeout: 5 * time.Minute, Known: true,
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	t.Run("resource without ssh", func(t *testing.T) {
		c := loadExample(t, testOpts())
		_, diags := c.EvalSSH(managed("aws_security_group", "ssh"), nil, cty.NilVal)
		if d := cmp.Diff([]string{"main.hcl:22: Missing ssh block"}, diagLines(diags)); d != "" {
			t.Error(d)
		}
	})
}

func TestEvalLayers(t *testing.T) {
	c := loadExample(t, testOpts())
	got, diags := c.EvalLayers(managed("aws_instance", "mlops_zoomcamp"), nil, cty.NilVal)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	instance := managed("aws_instance", "mlops_zoomcamp")
	strs := func(s ...string) cty.Value {
		var vs []cty.Value
		for _, x := range s {
			vs = append(vs, cty.StringVal(x))
		}
		return cty.ListVal(vs)
	}
	want := []LayerValue{
		{
			Addr: addrs.Layer{Resource: instance, Name: "apt"}, Kind: "apt",
			Config: cty.ObjectVal(map[string]cty.Value{"update": cty.True, "packages": strs("git", "make")}),
		},
		{
			Addr: addrs.Layer{Resource: instance, Name: "docker-works"}, Kind: "shell",
			Config: cty.ObjectVal(map[string]cty.Value{
				"check": cty.StringVal("docker info >/dev/null 2>&1"),
				"run":   cty.StringVal("sudo systemctl start docker"),
			}),
		},
	}
	ignoreRange := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".DeclRange" }, cmp.Ignore())
	if d := cmp.Diff(want, got, ctyCmp, ignoreRange); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got[1].DeclRange.Start.Line != 47 {
		t.Errorf("shell layer DeclRange = %s", got[1].DeclRange)
	}

	host, _ := c.EvalLayers(managed("host", "lab_gpu"), nil, cty.NilVal)
	wantDocker := cty.ObjectVal(map[string]cty.Value{"users": strs("me"), "version": cty.NullVal(cty.String)})
	if len(host) != 1 || !host[0].Config.RawEquals(wantDocker) {
		t.Errorf("host layers = %#v", host)
	}
}

func TestEvalLayersWithSelf(t *testing.T) {
	c := mustLoad(t, `
resource "aws_instance" "a" {
  ami = "ami-1"
  ssh { host = self.public_ip }
  layer "file" {
    path    = "/etc/motd"
    content = "I am ${self.id}"
  }
}
`, testOpts())
	addr := managed("aws_instance", "a")
	before, diags := c.EvalLayers(addr, nil, cty.NilVal)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	if content := before[0].Config.GetAttr("content"); content.IsKnown() {
		t.Errorf("content before the instance exists = %#v, want unknown", content)
	}
	self, _ := c.EvalResource(addr, nil)
	m := self.AsValueMap()
	m["id"] = cty.StringVal("i-42")
	after, diags := c.EvalLayers(addr, nil, cty.ObjectVal(m))
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	want := cty.ObjectVal(map[string]cty.Value{
		"path": cty.StringVal("/etc/motd"), "content": cty.StringVal("I am i-42"), "mode": cty.StringVal("0644"),
	})
	if d := cmp.Diff(want, after[0].Config, ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestEvalOutputsAndProvider(t *testing.T) {
	c := loadExample(t, testOpts())
	instance := managed("aws_instance", "mlops_zoomcamp")

	outs, diags := c.EvalOutputs(nil)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	if got := outs["public_ip"]; got.IsKnown() || !got.Type().Equals(cty.String) {
		t.Errorf("public_ip before apply = %#v, want unknown string", got)
	}
	vals := exampleValues(t, c)
	iv, _ := c.EvalResource(instance, vals)
	m := iv.AsValueMap()
	m["public_ip"] = cty.StringVal("54.1.2.3")
	vals[instance] = cty.ObjectVal(m)
	outs, diags = c.EvalOutputs(vals)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	if d := cmp.Diff(map[string]cty.Value{"public_ip": cty.StringVal("54.1.2.3")}, outs, ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	p, diags := c.EvalProvider("aws")
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	want := cty.ObjectVal(map[string]cty.Value{
		"region": cty.StringVal("eu-west-1"), "profile": cty.NullVal(cty.String), "endpoint": cty.NullVal(cty.String),
	})
	if d := cmp.Diff(want, p, ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	unconfigured := mustLoad(t, `variable "x" { default = 1 }`, testOpts())
	p, diags = unconfigured.EvalProvider("aws")
	if len(diags) > 0 || !p.GetAttr("region").IsNull() {
		t.Errorf("unconfigured provider = %#v, %s", p, renderDiags(diags))
	}
	if _, diags := unconfigured.EvalProvider("gcp"); !diags.HasErrors() {
		t.Error("unknown provider: no error")
	}
}

// TestEvalValidationWithKnownValues shows validation of values that only
// become known at plan time: they are reported by EvalResource, at the
// attribute's expression.
func TestEvalValidationWithKnownValues(t *testing.T) {
	c := mustLoad(t, `
resource "aws_instance" "a" { ami = "ami-1" }
resource "aws_security_group" "s" {
  name = "s"
  ingress {
    port        = 22
    cidr_blocks = ["${aws_instance.a.public_ip}/32"]
  }
}
`, testOpts())
	a := managed("aws_instance", "a")
	iv, _ := c.EvalResource(a, nil)
	m := iv.AsValueMap()
	m["public_ip"] = cty.StringVal("not-an-ip")
	_, diags := c.EvalResource(managed("aws_security_group", "s"), Values{a: cty.ObjectVal(m)})
	if d := cmp.Diff([]string{"main.hcl:7: Invalid attribute value"}, diagLines(diags)); d != "" {
		t.Error(d)
	}
	m["public_ip"] = cty.StringVal("54.1.2.3")
	v, diags := c.EvalResource(managed("aws_security_group", "s"), Values{a: cty.ObjectVal(m)})
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	cidr := v.GetAttr("ingress").Index(cty.NumberIntVal(0)).GetAttr("cidr_blocks").Index(cty.NumberIntVal(0))
	if cidr.AsString() != "54.1.2.3/32" {
		t.Errorf("cidr = %#v", cidr)
	}
}

func TestEvalLocalsPerUse(t *testing.T) {
	c := mustLoad(t, `
locals {
  prefix = "ml"
  sg     = aws_security_group.s.id
  groups = [local.sg, "sg-static"]
}
resource "aws_security_group" "s" { name = "${local.prefix}-s" }
resource "aws_instance" "a" {
  ami             = "ami-1"
  security_groups = local.groups
}
`, testOpts())
	a := managed("aws_instance", "a")
	s := managed("aws_security_group", "s")
	if d := cmp.Diff([]addrs.Resource{s}, c.Resources[a].DependsOn); d != "" {
		t.Errorf("DependsOn via locals (-want +got):\n%s", d)
	}
	before, _ := c.EvalResource(a, nil)
	if before.GetAttr("security_groups").IsWhollyKnown() {
		t.Errorf("security_groups before = %#v", before.GetAttr("security_groups"))
	}
	sv, _ := c.EvalResource(s, nil)
	m := sv.AsValueMap()
	m["id"] = cty.StringVal("sg-1")
	after, diags := c.EvalResource(a, Values{s: cty.ObjectVal(m)})
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	want := cty.ListVal([]cty.Value{cty.StringVal("sg-1"), cty.StringVal("sg-static")})
	if d := cmp.Diff(want, after.GetAttr("security_groups"), ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestFunctions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want cty.Value
	}{
		{`file("motd.txt")`, cty.StringVal("hello\n")},
		{`file("${path.module}/motd.txt")`, cty.StringVal("hello\n")},
		{`fileexists("motd.txt")`, cty.True},
		{`fileexists("nope.txt")`, cty.False},
		{`pathexpand("~/.ssh/id")`, cty.StringVal("/home/me/.ssh/id")},
		{`basename("/a/b.pem")`, cty.StringVal("b.pem")},
		{`dirname("/a/b.pem")`, cty.StringVal("/a")},
		{`upper(trimspace(" x "))`, cty.StringVal("X")},
		{`length("héllo")`, cty.NumberIntVal(5)},
		{`length(["a", "b"])`, cty.NumberIntVal(2)},
		{`startswith("ubuntu-22", "ubuntu")`, cty.True},
		{`endswith("ubuntu-22", "ubuntu")`, cty.False},
		{`join(",", reverse(sort(["b", "a", "c"])))`, cty.StringVal("c,b,a")},
		{`format("%s-%d", "x", 3)`, cty.StringVal("x-3")},
		{`lookup({a = "1"}, "b", "dflt")`, cty.StringVal("dflt")},
		{`try(tonumber("x"), 7)`, cty.NumberIntVal(7)},
		{`jsonencode({a = 1})`, cty.StringVal(`{"a":1}`)},
		{`max(1, 5, 3)`, cty.NumberIntVal(5)},
		{`replace("a-b", "-", "_")`, cty.StringVal("a_b")},
		{`coalesce(null, "x")`, cty.StringVal("x")},
	}
	var src string
	for i, tt := range tests {
		src += "  f" + string(rune('a'+i)) + " = " + tt.expr + "\n"
	}
	c, diags := LoadFiles(dir, map[string][]byte{"main.hcl": []byte("locals {\n" + src + "}\n")}, testOpts())
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	s := c.newScope(nil)
	for i, tt := range tests {
		got := s.local("f" + string(rune('a'+i)))
		if !got.RawEquals(tt.want) && !(got.Type() == cty.Number && got.Equals(tt.want).True()) {
			t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
		}
	}
}

// TestEvalReferencesSeeOnlyWhatTheyName: an expression sees the value of
// each resource it refers to (dot or index form, through locals too), known
// from vals or unknown, and no other.
func TestEvalReferencesSeeOnlyWhatTheyName(t *testing.T) {
	c := mustLoad(t, `
data "aws_ami" "a" {
  owners = ["1"]
  name   = "a"
}
resource "aws_key_pair" "k1" { name = "k1" }
resource "aws_key_pair" "k2" { name = "k2" }
locals { k2 = aws_key_pair.k2.name }
resource "aws_instance" "i" {
  ami      = data.aws_ami["a"].name
  key_pair = aws_key_pair.k1.name
  tags     = { k2 = local.k2 }
}
`, testOpts())
	vals := Values{}
	for _, a := range []addrs.Resource{data("aws_ami", "a"), managed("aws_key_pair", "k1"), managed("aws_key_pair", "k2")} {
		v, diags := c.EvalResource(a, nil)
		if diags.HasErrors() {
			t.Fatal(renderDiags(diags))
		}
		vals[a] = v
	}
	got, diags := c.EvalResource(managed("aws_instance", "i"), vals)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	for k, w := range map[string]cty.Value{
		"ami":      cty.StringVal("a"),
		"key_pair": cty.StringVal("k1"),
		"tags":     cty.MapVal(map[string]cty.Value{"k2": cty.StringVal("k2")}),
	} {
		if g := got.GetAttr(k); !g.RawEquals(w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	delete(vals, managed("aws_key_pair", "k2"))
	got, diags = c.EvalResource(managed("aws_instance", "i"), vals)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	if g := got.GetAttr("tags"); g.IsWhollyKnown() {
		t.Errorf("tags with k2 not in vals = %#v, want unknown", g)
	}
	if g := got.GetAttr("key_pair"); !g.RawEquals(cty.StringVal("k1")) {
		t.Errorf("key_pair = %#v", g)
	}
}

// TestEvalResourceCostDoesNotGrowWithResources: evaluating one resource
// builds the values of the resources it refers to, not of every resource in
// the configuration (which made a plan quadratic in their number).
func TestEvalResourceCostDoesNotGrowWithResources(t *testing.T) {
	bytesPerEval := func(n int) uint64 {
		var b strings.Builder
		b.WriteString("resource \"aws_key_pair\" \"k\" { name = \"k\" }\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "resource \"aws_instance\" \"i%d\" {\n  ami = \"ami-1\"\n  key_pair = aws_key_pair.k.name\n}\n", i)
		}
		c := mustLoad(t, b.String(), testOpts())
		addr := managed("aws_instance", "i0")
		const runs = 20
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			if _, diags := c.EvalResource(addr, nil); diags.HasErrors() {
				t.Fatal(renderDiags(diags))
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	small, large := bytesPerEval(2), bytesPerEval(200)
	if large > small*3/2 {
		t.Errorf("EvalResource allocates %d bytes with 2 resources, %d with 200", small, large)
	}
}

// BenchmarkEvalResources evaluates every resource of a configuration of n
// instances sharing a key pair and a security group, as a plan does.
func BenchmarkEvalResources(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("resource \"aws_key_pair\" \"k\" { name = \"k\" }\nresource \"aws_security_group\" \"g\" { name = \"g\" }\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&src, "resource \"aws_instance\" \"i%d\" {\n  ami = \"ami-1\"\n  key_pair = aws_key_pair.k.name\n  security_groups = [aws_security_group.g.id]\n}\n", i)
			}
			c, diags := LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(src.String())}, testOpts())
			if diags.HasErrors() {
				b.Fatal(renderDiags(diags))
			}
			b.ReportAllocs()
			for b.Loop() {
				vals := Values{}
				for addr := range c.Resources {
					v, diags := c.EvalResource(addr, vals)
					if diags.HasErrors() {
						b.Fatal(renderDiags(diags))
					}
					vals[addr] = v
				}
			}
		})
	}
}
