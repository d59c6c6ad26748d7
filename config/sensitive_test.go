package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

func TestSensitiveMarksFollowValuesAndStopAtTheBoundary(t *testing.T) {
	src := `
variable "s" {
  sensitive = true
  default   = "secret-value"
}
variable "plain" { default = "p" }
locals { l = "x-${var.s}" }
resource "host" "h" {
  ssh { host = "127.0.0.2" }
  layer "file" {
    name        = "secret"
    path        = "/tmp/a"
    content     = local.l
  }
  layer "file" {
    name        = "plain"
    path        = "/tmp/b"
    content     = var.plain
  }
}
resource "aws_security_group" "g" {
  name        = var.plain
  description = upper(local.l)
}
output "derived" {
  value     = aws_security_group.g.description
  sensitive = true
}
`
	c, diags := LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(src)}, testOpts())
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	g := addrs.Resource{Mode: addrs.Managed, Type: "aws_security_group", Name: "g"}
	v, d := c.EvalResource(g, nil)
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if v.ContainsMarked() {
		t.Fatal("EvalResource handed out a marked value")
	}
	if got := v.GetAttr("description").AsString(); got != "X-SECRET-VALUE" {
		t.Fatalf("description = %q", got)
	}
	if d := cmp.Diff([]string{"description"}, c.SensitiveAttributes(g)); d != "" {
		t.Errorf("sensitive attributes (-want +got):\n%s", d)
	}
	h := addrs.Resource{Mode: addrs.Managed, Type: "host", Name: "h"}
	lvs, d := c.EvalLayers(h, nil, cty.NilVal)
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	for _, lv := range lvs {
		if lv.Config.ContainsMarked() {
			t.Errorf("%s: marked layer config", lv.Addr)
		}
		if want := lv.Addr.Name == "secret"; lv.Sensitive != want || c.LayerSensitive(lv.Addr) != want {
			t.Errorf("%s: sensitive %v", lv.Addr, lv.Sensitive)
		}
	}
	// The mark follows a resource's attribute into the output that refers
	// to it, given the resource's value.
	outs, d := c.EvalOutputs(Values{g: v})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if outs["derived"].ContainsMarked() {
		t.Error("EvalOutputs handed out a marked value")
	}

	// Without sensitive = true the same output is an error at load.
	bad := strings.Replace(src, "value     = aws_security_group.g.description\n  sensitive = true", "value = aws_security_group.g.description", 1)
	_, diags = LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(bad)}, testOpts())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Output refers to sensitive values") || !strings.Contains(diags.Error(), "main.hcl:26") {
		t.Fatalf("want an error at main.hcl:26, got %v", diags)
	}
	// A validation problem with a sensitive value does not quote it.
	hostile := strings.Replace(src, `description = upper(local.l)`, `description = upper(local.l)
  ingress {
    port        = 22
    cidr_blocks = [var.s]
  }`, 1)
	_, diags = LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(hostile)}, testOpts())
	if !diags.HasErrors() || strings.Contains(diags.Error(), "secret-value") {
		t.Fatalf("want an error without the value, got %v", diags)
	}
}

// A resource written before the one whose sensitive attribute it uses still
// carries the mark into an output (validate sees what plan sees).
func TestSensitivityFollowsReferencesWrittenLater(t *testing.T) {
	src := `
resource "aws_security_group" "first" {
  name        = "first"
  description = aws_security_group.second.description
}
output "leak" {
  value = aws_security_group.first.description
}
resource "aws_security_group" "second" {
  name        = "second"
  description = var.s
}
variable "s" {
  sensitive = true
  default   = "secret-value"
}
`
	_, diags := LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(src)}, testOpts())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Output refers to sensitive values") {
		t.Fatalf("want the output refused, got %v", diags)
	}
}
