package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// TestNestedBlocks covers single blocks (object or null) and the limits on
// the number of blocks.
func TestNestedBlocks(t *testing.T) {
	opts := testOpts()
	opts.Schemas.Resources["aws_volume"] = &schema.Resource{Block: schema.Block{
		Attributes: map[string]*schema.Attribute{"size": {Type: cty.Number, Required: true}},
		BlockTypes: map[string]*schema.NestedBlock{
			"encryption": {Nesting: schema.NestingSingle, Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"kms_key": {Type: cty.String, Optional: true},
				"enabled": {Type: cty.Bool, Optional: true, Default: cty.True},
			}}},
			"attachment": {Nesting: schema.NestingList, MinItems: 1, MaxItems: 2, Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"device": {Type: cty.String, Required: true},
			}}},
		},
	}}
	encTy := opts.Schemas.Resources["aws_volume"].BlockTypes["encryption"].ImpliedType()

	c := mustLoad(t, `
resource "aws_volume" "with" {
  size = 10
  encryption { kms_key = "k" }
  attachment { device = "/dev/sdf" }
}
resource "aws_volume" "without" {
  size = 10
  attachment { device = "/dev/sdf" }
  attachment { device = "/dev/sdg" }
}
`, opts)
	with, _ := c.EvalResource(managed("aws_volume", "with"), nil)
	want := cty.ObjectVal(map[string]cty.Value{"kms_key": cty.StringVal("k"), "enabled": cty.True})
	if d := cmp.Diff(want, with.GetAttr("encryption"), ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	without, _ := c.EvalResource(managed("aws_volume", "without"), nil)
	if d := cmp.Diff(cty.NullVal(encTy), without.GetAttr("encryption"), ctyCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if n := without.GetAttr("attachment").LengthInt(); n != 2 {
		t.Errorf("attachments = %d", n)
	}

	_, diags := loadSrc(t, `resource "aws_volume" "v" {
  size = 1
  encryption {}
  encryption {}
  attachment { device = "a" }
  attachment { device = "b" }
  attachment { device = "c" }
}
resource "aws_volume" "none" {
  size = 1
}`, opts)
	wantDiags := []string{
		"main.hcl:4: Duplicate encryption block",
		"main.hcl:7: Too many attachment blocks",
		"main.hcl:9: Missing attachment block",
	}
	if d := cmp.Diff(wantDiags, diagLines(diags)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestHostileStrings: names become addresses and must be identifiers;
// values are data and are never interpreted.
func TestHostileStrings(t *testing.T) {
	_, diags := loadSrc(t, `resource "host" "x; rm -rf /" {}
resource "host" "ok" {
  ssh { host = "h" }
  layer "shell" {
    name  = "a.layer.b"
    check = "true"
    run   = "true"
  }
}
output "a\nb" { value = 1 }
variable "$(id)" {}
`, testOpts())
	want := []string{
		"main.hcl:1: Invalid name",
		"main.hcl:5: Invalid layer name",
		"main.hcl:10: Invalid name",
		"main.hcl:11: Invalid name",
	}
	if d := cmp.Diff(want, diagLines(diags)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	opts := testOpts()
	opts.Vars = []string{`cmd=$(reboot) ${var.cmd} %{if true}x%{endif}`}
	c := mustLoad(t, `variable "cmd" { type = string }
resource "host" "h" {
  ssh { host = "h" }
  layer "shell" {
    check = var.cmd
    run   = "echo '${var.cmd}'"
  }
}`, opts)
	layers, diags := c.EvalLayers(managed("host", "h"), nil, cty.NilVal)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	raw := `$(reboot) ${var.cmd} %{if true}x%{endif}`
	if got := layers[0].Config.GetAttr("check").AsString(); got != raw {
		t.Errorf("check = %q", got)
	}
	if got := layers[0].Config.GetAttr("run").AsString(); got != "echo '"+raw+"'" {
		t.Errorf("run = %q", got)
	}
}
