package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

const varsSrc = `
variable "region" { default = "eu-west-1" }
variable "untyped" {}
variable "anything" {
  type    = any
  default = null
}
variable "count" {
  type    = number
  default = 1
}
variable "gpu" {
  type    = bool
  default = false
}
variable "packages" {
  type    = list(string)
  default = []
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "disk" {
  type = object({
    size = number
    kind = optional(string, "gp3")
  })
  default = { size = 30 }
}
variable "secret" {
  type      = string
  default   = "x"
  sensitive = true
}
`

func TestVariableValues(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.vars", `region = "file-a"
count  = 3
packages = ["git"]
`)
	write(t, dir, "b.vars", `region = "file-b"
disk = { size = 100, kind = "io2" }
`)
	tests := []struct {
		name     string
		env      []string
		varFiles []string
		vars     []string
		want     map[string]cty.Value // the variables to check
	}{
		{
			name: "defaults",
			vars: []string{"untyped=u"},
			want: map[string]cty.Value{
				"region": cty.StringVal("eu-west-1"),
				"count":  cty.NumberIntVal(1),
				"disk":   cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(30), "kind": cty.StringVal("gp3")}),
			},
		},
		{
			name: "environment over default",
			env:  []string{"MLOPS_VAR_region=env", "MLOPS_VAR_untyped=u", "MLOPS_VAR_count=2", "MLOPS_VAR_unrelated=1"},
			want: map[string]cty.Value{"region": cty.StringVal("env"), "count": cty.NumberIntVal(2)},
		},
		{
			name:     "var file over environment, later file over earlier",
			env:      []string{"MLOPS_VAR_region=env", "MLOPS_VAR_count=2"},
			varFiles: []string{filepath.Join(dir, "a.vars"), filepath.Join(dir, "b.vars")},
			vars:     []string{"untyped=u"},
			want: map[string]cty.Value{
				"region":   cty.StringVal("file-b"),
				"count":    cty.NumberIntVal(3),
				"packages": cty.ListVal([]cty.Value{cty.StringVal("git")}),
				"disk":     cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(100), "kind": cty.StringVal("io2")}),
			},
		},
		{
			name:     "-var over everything, last wins",
			env:      []string{"MLOPS_VAR_region=env"},
			varFiles: []string{filepath.Join(dir, "a.vars")},
			vars:     []string{"untyped=u", "region=cli-1", "region=cli-2", "count=4"},
			want:     map[string]cty.Value{"region": cty.StringVal("cli-2"), "count": cty.NumberIntVal(4)},
		},
		{
			name: "raw values: literal for strings, expressions otherwise",
			vars: []string{
				"untyped=[1, 2]", "anything=[1, 2]", "region=${not.a.template}", "count=2 * 8", "gpu=true",
				`packages=["git", "make"]`, `tags={Name = "x"}`, "disk={size = 8}", "secret=a=b",
			},
			want: map[string]cty.Value{
				"untyped":  cty.StringVal("[1, 2]"),
				"anything": cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
				"region":   cty.StringVal("${not.a.template}"),
				"count":    cty.NumberIntVal(16),
				"gpu":      cty.True,
				"packages": cty.ListVal([]cty.Value{cty.StringVal("git"), cty.StringVal("make")}),
				"tags":     cty.MapVal(map[string]cty.Value{"Name": cty.StringVal("x")}),
				"disk":     cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(8), "kind": cty.StringVal("gp3")}),
				"secret":   cty.StringVal("a=b"),
			},
		},
		{
			name: "conversion of number to string type",
			env:  []string{"MLOPS_VAR_untyped=u"},
			vars: []string{"packages=[1, true]"},
			want: map[string]cty.Value{
				"packages": cty.ListVal([]cty.Value{cty.StringVal("1"), cty.StringVal("true")}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOpts()
			opts.Env = append(opts.Env, tt.env...)
			opts.VarFiles = tt.varFiles
			opts.Vars = tt.vars
			c := mustLoad(t, varsSrc, opts)
			got := map[string]cty.Value{}
			for name := range tt.want {
				got[name] = c.Variables[name].Value
			}
			if d := cmp.Diff(tt.want, got, ctyCmp); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	c := mustLoad(t, varsSrc, LoadOptions{Schemas: testSchemas(), Vars: []string{"untyped=u"}})
	if !c.Variables["secret"].Sensitive || c.Variables["region"].Sensitive {
		t.Error("Sensitive not decoded")
	}
	if got := c.Variables["disk"].Type; !got.IsObjectType() {
		t.Errorf("disk type = %#v", got)
	}
}

func TestVariableErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.vars", `region = "ok"
count  = "many"
nope   = 1
`)
	tests := []struct {
		name     string
		env      []string
		varFiles []string
		vars     []string
		allow    bool
		want     []string
		detail   string // substring of the first diagnostic's detail
	}{
		{
			name:   "missing required variable",
			want:   []string{"main.hcl:3: No value for required variable"},
			detail: `"untyped"`,
		},
		{
			name:  "missing required variable allowed for validate",
			allow: true,
		},
		{
			name:   "wrong type from -var",
			vars:   []string{"untyped=u", "count=abc"},
			want:   []string{"-: Invalid value for variable"},
			detail: `-var "count=abc"`,
		},
		{
			name:   "wrong type from the environment",
			env:    []string{"MLOPS_VAR_untyped=u", "MLOPS_VAR_gpu=maybe"},
			want:   []string{"-: Invalid value for variable"},
			detail: "environment variable MLOPS_VAR_gpu",
		},
		{
			name:   "unparsable -var",
			vars:   []string{"untyped=u", "packages=[git"},
			want:   []string{"-: Invalid value for variable"},
			detail: `-var "packages=[git"`,
		},
		{
			name:     "wrong type and undeclared variable in a var file",
			vars:     []string{"untyped=u"},
			varFiles: []string{filepath.Join(dir, "bad.vars")},
			want: []string{
				filepath.Join(dir, "bad.vars") + ":2: Invalid value for variable",
				filepath.Join(dir, "bad.vars") + ":3: Value for undeclared variable",
			},
			detail: `variable "count" of type number`,
		},
		{
			name:     "missing var file",
			vars:     []string{"untyped=u"},
			varFiles: []string{filepath.Join(dir, "nope.vars")},
			want:     []string{"-: Cannot read variables file"},
		},
		{
			name:   "-var for an undeclared variable",
			vars:   []string{"untyped=u", "regoin=x"},
			want:   []string{"-: Value for undeclared variable"},
			detail: `Did you mean "region"?`,
		},
		{
			name: "-var without a value",
			vars: []string{"untyped=u", "region"},
			want: []string{"-: Invalid -var option"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOpts()
			opts.Env = append(opts.Env, tt.env...)
			opts.VarFiles = tt.varFiles
			opts.Vars = tt.vars
			opts.AllowUnsetVariables = tt.allow
			c, diags := loadSrc(t, varsSrc, opts)
			if d := cmp.Diff(tt.want, diagLines(diags)); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", d, renderDiags(diags))
			}
			if tt.detail != "" && len(diags) > 0 && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
			if tt.allow {
				if v := c.Variables["untyped"].Value; v.IsKnown() {
					t.Errorf("unset variable = %#v, want unknown", v)
				}
			}
		})
	}
}

// TestUnsetVariablesFlowAsUnknown: with AllowUnsetVariables, values that
// depend on an unset variable are unknown and not validated.
func TestUnsetVariablesFlowAsUnknown(t *testing.T) {
	opts := testOpts()
	opts.AllowUnsetVariables = true
	c := mustLoad(t, `
variable "cidr" { type = string }
variable "size" { type = number }
resource "aws_security_group" "s" {
  name = "s"
  ingress {
    port        = 22
    cidr_blocks = [var.cidr]
  }
}
resource "aws_instance" "a" {
  ami     = "ami-1"
  disk_gb = var.size
}
mlops {
  backend "s3" {
    bucket = var.cidr
    key    = "k"
  }
}
`, opts)
	v, diags := c.EvalResource(managed("aws_instance", "a"), nil)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	if got := v.GetAttr("disk_gb"); got.IsKnown() || !got.Type().Equals(cty.Number) {
		t.Errorf("disk_gb = %#v, want unknown number", got)
	}
	if b := c.Backend.Config["bucket"]; b.IsKnown() {
		t.Errorf("backend bucket = %#v, want unknown", b)
	}
}
