package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func TestForEachExpandsAndEvaluates(t *testing.T) {
	c := mustLoad(t, `
variable "team" {
  default = { alice = "t3.large", bob = "t3.micro" }
}
resource "aws_instance" "box" {
  for_each      = var.team
  ami           = "ami-1"
  instance_type = each.value
  tags          = { Name = "box-${each.key}" }
  ssh {
    host  = self.public_ip
    alias = "zoomcamp-${each.key}"
  }
  layer "apt" { packages = [each.key] }
}
resource "aws_instance" "n" {
  count = 2
  ami   = "ami-${count.index}"
}
output "ips" { value = [for k, b in aws_instance.box : b.public_ip] }
output "splat" { value = aws_instance.n[*].public_ip }
output "one" { value = aws_instance.box["bob"].public_ip }
output "all" { value = aws_instance.box[*].public_ip }
`, testOpts())
	box := managed("aws_instance", "box")
	got, diags := c.Expand(box, nil)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	alice, bob := box.Instance(addrs.StringKey("alice")), box.Instance(addrs.StringKey("bob"))
	if d := cmp.Diff([]addrs.Resource{alice, bob}, got); d != "" {
		t.Fatalf("Expand (-want +got):\n%s", d)
	}
	if alice.String() != `aws_instance.box["alice"]` {
		t.Fatalf("address %s", alice)
	}
	v, diags := c.EvalResource(alice, nil)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	if it := v.GetAttr("instance_type").AsString(); it != "t3.large" {
		t.Errorf("instance_type = %q, want each.value t3.large", it)
	}
	if name := v.GetAttr("tags").Index(cty.StringVal("Name")).AsString(); name != "box-alice" {
		t.Errorf("tags.Name = %q", name)
	}
	self := cty.ObjectVal(map[string]cty.Value{"public_ip": cty.StringVal("127.0.0.9")})
	set, diags := c.EvalSSH(bob, nil, self)
	if diags.HasErrors() || set.Alias != "zoomcamp-bob" {
		t.Errorf("ssh alias = %q, %s", set.Alias, renderDiags(diags))
	}
	lvs, diags := c.EvalLayers(bob, nil, self)
	if diags.HasErrors() || len(lvs) != 1 || lvs[0].Addr.String() != `aws_instance.box["bob"].layer.apt` {
		t.Fatalf("layers = %v, %s", lvs, renderDiags(diags))
	}
	n := managed("aws_instance", "n")
	insts, _ := c.Expand(n, nil)
	if len(insts) != 2 || insts[1].String() != "aws_instance.n[1]" {
		t.Fatalf("count instances = %v", insts)
	}
	v, _ = c.EvalResource(insts[1], nil)
	if v.GetAttr("ami").AsString() != "ami-1" {
		t.Errorf("count.index: ami = %s", v.GetAttr("ami").AsString())
	}

	ip := func(s string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"ami": cty.StringVal("a"), "instance_type": cty.StringVal("t"),
			"key_pair": cty.NullVal(cty.String), "security_groups": cty.NullVal(cty.List(cty.String)), "disk_gb": cty.NumberIntVal(8),
			"tags": cty.NullVal(cty.Map(cty.String)), "id": cty.StringVal("i-" + s), "public_ip": cty.StringVal(s), "private_ip": cty.NullVal(cty.String)})
	}
	vals := Values{alice: ip("1.1.1.1"), bob: ip("2.2.2.2"), insts[0]: ip("3.3.3.3"), insts[1]: ip("4.4.4.4")}
	outs, diags := c.EvalOutputs(vals)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	want := map[string]string{
		"ips":   `["1.1.1.1","2.2.2.2"]`,
		"splat": `["3.3.3.3","4.4.4.4"]`,
		"one":   `"2.2.2.2"`,
		"all":   `["1.1.1.1","2.2.2.2"]`,
	}
	for name, w := range want {
		if g := jsonOf(t, outs[name]); g != w {
			t.Errorf("output %s = %s, want %s", name, g, w)
		}
	}
}

func TestForEachErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
		detail    string
	}{
		{
			name: "list with duplicates",
			src: `resource "aws_instance" "b" {
  for_each = ["alice", "bob", "alice"]
  ami      = "x"
}`,
			want:   []string{"main.hcl:2: Invalid for_each argument"},
			detail: `"alice" more than once`,
		},
		{
			name: "list",
			src: `variable "team" { default = ["a", "b"] }
resource "aws_instance" "b" {
  for_each = var.team
  ami      = "x"
}`,
			want:   []string{"main.hcl:3: Invalid for_each argument"},
			detail: "toset",
		},
		{
			name: "each outside for_each",
			src: `resource "aws_instance" "b" {
  ami = each.key
}`,
			want: []string{`main.hcl:2: Reference to "each" in context without for_each`},
		},
		{
			name: "count.index outside count",
			src: `resource "aws_instance" "b" {
  for_each = toset(["a"])
  ami      = "ami-${count.index}"
}`,
			want: []string{`main.hcl:3: Reference to "count" in non-counted context`},
		},
		{
			name: "count and for_each",
			src: `resource "aws_instance" "b" {
  for_each = toset(["a"])
  count    = 2
  ami      = "x"
}`,
			want: []string{`main.hcl:3: Invalid combination of "count" and "for_each"`},
		},
		{
			name: "negative count",
			src: `resource "aws_instance" "b" {
  count = -1
  ami   = "x"
}`,
			want: []string{"main.hcl:2: Invalid count argument"},
		},
		{
			name: "for_each over an unknown value",
			src: `resource "aws_key_pair" "k" { name = "k" }
resource "aws_instance" "b" {
  for_each = toset([aws_key_pair.k.id])
  ami      = "x"
}`,
			want: []string{"main.hcl:3: Invalid for_each argument"},
		},
		{
			name: "for_each over configured attributes of a resource",
			src: `resource "aws_key_pair" "k" { name = "k" }
resource "aws_instance" "b" {
  for_each = toset([aws_key_pair.k.name])
  ami      = "x"
}`,
			want: nil, // known when planned; Expand at plan time checks it, see below
		},
		{
			name: "instance key missing",
			src: `resource "aws_instance" "b" {
  count = 1
  ami   = "x"
}
output "ip" { value = aws_instance.b.public_ip }`,
			want: []string{"main.hcl:5: Missing resource instance key"},
		},
		{
			name: "each in an output",
			src:  `output "k" { value = each.key }`,
			want: []string{`main.hcl:1: Reference to "each" in context without for_each`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := loadSrc(t, tt.src, testOpts())
			if d := cmp.Diff(tt.want, diagLines(diags)); d != "" {
				t.Fatalf("diagnostics (-want +got):\n%s\n%s", d, renderDiags(diags))
			}
			if tt.detail != "" && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
			if tt.want == nil {
				_, diags := c.Expand(managed("aws_instance", "b"), nil)
				if got := diagLines(diags); len(got) != 1 || got[0] != "main.hcl:3: Invalid for_each argument" { // unknown without values
					t.Errorf("Expand: %v", got)
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v cty.Value) string {
	t.Helper()
	b, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// Marshalled with its type; keep only the value.
	i := strings.Index(s, `"value":`)
	return s[i+len(`"value":`) : strings.LastIndex(s, `,"type"`)]
}

func TestAuthorizedKeysErrors(t *testing.T) {
	schemas := testSchemas()
	schemas.Layers = map[string]*schema.Layer{"authorized_keys": {Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"keys": {Type: cty.List(cty.String), Required: true}}}}}
	opts := testOpts()
	opts.Schemas = schemas
	for name, tt := range map[string]struct{ src, want string }{
		"private key": {`resource "aws_instance" "b" {
  ami = "ami-1"
  ssh {
    host            = "h"
    authorized_keys = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
  }
}`, "main.hcl:5: Invalid public key"},
		"twice": {`resource "aws_instance" "b" {
  ami = "ami-1"
  ssh {
    host            = "h"
    authorized_keys = []
  }
  layer "authorized_keys" { keys = [] }
}`, "main.hcl:5: Duplicate layer"},
	} {
		_, diags := loadSrc(t, tt.src, opts)
		if got := diagLines(diags); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: %v\n%s", name, got, renderDiags(diags))
		}
	}
}
