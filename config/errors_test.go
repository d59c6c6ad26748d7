package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadErrors pins, for each class of bad input, the summary and the
// file:line of every diagnostic, and a piece of the first one's detail.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   []string // "file:line: Summary"
		detail string   // a substring of the first diagnostic's detail
	}{
		{
			name: "broken syntax",
			src: `resource "aws_key_pair" "k" {
  name = "k"
  private_key_file = = 1
}`,
			want: []string{"main.hcl:3: Invalid expression"},
		},
		{
			name: "unclosed block",
			src: `resource "aws_key_pair" "k" { name = "k" }
resource "aws_key_pair" "j" {
  name = "j"
`,
			want: []string{"main.hcl:2: Unclosed configuration block"},
		},
		{
			name:   "unknown top-level block",
			src:    `resources "aws_key_pair" "k" { name = "k" }`,
			want:   []string{"main.hcl:1: Unsupported block type"},
			detail: `Did you mean "resource"?`,
		},
		{
			name:   "unknown resource type",
			src:    `resource "aws_instanse" "a" {}`,
			want:   []string{"main.hcl:1: Unsupported resource type"},
			detail: `Did you mean "aws_instance"?`,
		},
		{
			name:   "unknown data source type",
			src:    `data "aws_amis" "a" {}`,
			want:   []string{"main.hcl:1: Unsupported data source type"},
			detail: `Did you mean "aws_ami"?`,
		},
		{
			name:   "unknown provider",
			src:    "provider \"awss\" {\n}",
			want:   []string{"main.hcl:1: Unsupported provider"},
			detail: `Did you mean "aws"?`,
		},
		{
			name: "unknown attribute",
			src: `resource "aws_key_pair" "k" {
  nmae = "k"
}`,
			want: []string{
				"main.hcl:1: Missing required argument",
				"main.hcl:2: Unsupported argument",
			},
			detail: `The argument "name" is required`,
		},
		{
			name: "unknown attribute suggestion",
			src: `resource "aws_key_pair" "k" {
  name = "k"
  private_key_fil = "x"
}`,
			want:   []string{"main.hcl:3: Unsupported argument"},
			detail: `Did you mean "private_key_file"?`,
		},
		{
			name: "unknown nested block",
			src: `resource "aws_security_group" "s" {
  name = "s"
  ingres {
    port = 22
  }
}`,
			want:   []string{"main.hcl:3: Unsupported block type"},
			detail: `Did you mean "ingress"?`,
		},
		{
			name: "unknown layer kind",
			src: `resource "host" "h" {
  ssh { host = "h" }
  layer "apd" {}
}`,
			want:   []string{"main.hcl:3: Unsupported layer kind"},
			detail: `Did you mean "apt"?`,
		},
		{
			name: "unknown layer attribute",
			src: `resource "host" "h" {
  ssh { host = "h" }
  layer "apt" {
    pakages = ["git"]
  }
}`,
			want:   []string{"main.hcl:4: Unsupported argument"},
			detail: `Did you mean "packages"?`,
		},
		{
			name: "unknown ssh attribute",
			src: `resource "host" "h" {
  ssh {
    host = "h"
    usr  = "me"
  }
}`,
			want:   []string{"main.hcl:4: Unsupported argument"},
			detail: `Did you mean "user"?`,
		},
		{
			name: "wrong types",
			src: `resource "aws_instance" "a" {
  ami     = "ami-1"
  disk_gb = "abc"
  tags    = 5
}`,
			want: []string{
				"main.hcl:3: Incorrect attribute value type",
				"main.hcl:4: Incorrect attribute value type",
			},
			detail: `a number is required`,
		},
		{
			name: "wrong type through a variable",
			src: `variable "disk" { default = "big" }
resource "aws_instance" "a" {
  ami     = "ami-1"
  disk_gb = var.disk
}`,
			want: []string{"main.hcl:4: Incorrect attribute value type"},
		},
		{
			name: "unknown function",
			src: `resource "aws_key_pair" "k" {
  name = uper("k")
}`,
			want:   []string{"main.hcl:2: Call to unknown function"},
			detail: `Did you mean "upper"?`,
		},
		{
			name: "computed attribute set",
			src: `resource "aws_key_pair" "k" {
  name = "k"
  id   = "key-1"
}`,
			want: []string{"main.hcl:3: Computed attribute cannot be set"},
		},
		{
			name: "undeclared variable",
			src: `variable "instance_type" { default = "t3.micro" }
resource "aws_instance" "a" {
  ami           = "ami-1"
  instance_type = var.instance_typ
}`,
			want:   []string{"main.hcl:4: Reference to undeclared input variable"},
			detail: `Did you mean "instance_type"?`,
		},
		{
			name: "undeclared local",
			src: `locals { name = "x" }
resource "aws_key_pair" "k" {
  name = local.nam
}`,
			want:   []string{"main.hcl:3: Reference to undeclared local value"},
			detail: `Did you mean "name"?`,
		},
		{
			name: "undeclared resource",
			src: `resource "aws_instance" "a" {
  ami      = "ami-1"
  key_pair = aws_key_pair.razr.name
}
resource "aws_key_pair" "razer" { name = "razer" }`,
			want:   []string{"main.hcl:3: Reference to undeclared resource"},
			detail: `Did you mean "aws_key_pair.razer"?`,
		},
		{
			name: "undeclared data source",
			src: `resource "aws_instance" "a" {
  ami = data.aws_ami.focal.id
}`,
			want: []string{"main.hcl:2: Reference to undeclared resource"},
		},
		{
			name: "attribute the schema does not have",
			src: `resource "aws_key_pair" "k" { name = "k" }
resource "aws_instance" "a" {
  ami      = "ami-1"
  key_pair = aws_key_pair.k.nmae
}`,
			want:   []string{"main.hcl:4: Unsupported attribute"},
			detail: `Did you mean "name"?`,
		},
		{
			name: "attribute of self the schema does not have",
			src: `resource "aws_instance" "a" {
  ami = "ami-1"
  ssh { host = self.public_ipv4 }
}`,
			want:   []string{"main.hcl:3: Unsupported attribute"},
			detail: `Did you mean "public_ip"?`,
		},
		{
			name: "unknown reference root",
			src: `resource "aws_key_pair" "k" {
  name = vars.x
}`,
			want:   []string{"main.hcl:2: Reference to undeclared resource"},
			detail: "vars.x is not declared",
		},
		{
			name: "self outside ssh and layer blocks",
			src: `locals { ip = self.public_ip }
resource "aws_instance" "a" {
  ami  = "ami-1"
  tags = { ip = self.public_ip }
}
output "o" { value = self }`,
			want: []string{
				`main.hcl:1: Invalid "self" reference`,
				`main.hcl:4: Invalid "self" reference`,
				`main.hcl:6: Invalid "self" reference`,
			},
		},
		{
			name: "reference to the resource itself",
			src: `resource "aws_instance" "a" {
  ami  = "ami-1"
  tags = { id = aws_instance.a.id }
}`,
			want: []string{"main.hcl:3: Self-referential block"},
		},
		{
			name: "cycle through references",
			src: `resource "aws_instance" "a" {
  ami      = "ami-1"
  key_pair = aws_key_pair.b.name
}
resource "aws_key_pair" "b" {
  name = aws_instance.a.id
}`,
			want:   []string{"main.hcl:1: Dependency cycle"},
			detail: "aws_instance.a -> aws_key_pair.b -> aws_instance.a",
		},
		{
			name: "cycle through depends_on and locals",
			src: `locals { sg = aws_security_group.s.id }
resource "aws_instance" "a" {
  ami             = "ami-1"
  security_groups = [local.sg]
}
resource "aws_key_pair" "k" {
  name       = "k"
  depends_on = [aws_instance.a]
}
resource "aws_security_group" "s" {
  name       = "s"
  depends_on = [aws_key_pair.k]
}`,
			want:   []string{"main.hcl:2: Dependency cycle"},
			detail: "aws_instance.a -> aws_security_group.s -> aws_key_pair.k -> aws_instance.a",
		},
		{
			name: "cycle among locals",
			src: `locals {
  a = local.b
  b = "${local.c}-x"
  c = local.a
}
resource "aws_key_pair" "k" { name = local.a }`,
			want:   []string{"main.hcl:2: Cycle in local values"},
			detail: "local.a -> local.b -> local.c -> local.a",
		},
		{
			name: "duplicate resource",
			src: `resource "aws_key_pair" "k" { name = "a" }
resource "aws_key_pair" "k" { name = "b" }`,
			want:   []string{"main.hcl:2: Duplicate resource"},
			detail: "already declared at main.hcl:1,1",
		},
		{
			name: "duplicate variable, local and output",
			src: `variable "v" {}
variable "v" {}
locals { l = 1 }
locals { l = 2 }
output "o" { value = 1 }
output "o" { value = 2 }`,
			want: []string{
				"main.hcl:1: No value for required variable",
				"main.hcl:2: Duplicate variable declaration",
				"main.hcl:4: Duplicate local value definition",
				"main.hcl:6: Duplicate output definition",
			},
		},
		{
			name: "duplicate layer names",
			src: `resource "host" "h" {
  ssh { host = "h" }
  layer "shell" {
    check = "true"
    run   = "true"
  }
  layer "apt" { name = "shell" }
}`,
			want:   []string{"main.hcl:7: Duplicate layer"},
			detail: `already has a layer named "shell", at main.hcl:3,3`,
		},
		{
			name: "invalid names",
			src: `resource "aws_key_pair" "a b" { name = "k" }
resource "host" "h" {
  ssh { host = "h" }
  layer "apt" { name = "rm -rf /" }
}`,
			want: []string{
				"main.hcl:1: Invalid name",
				"main.hcl:4: Invalid layer name",
			},
		},
		{
			name: "bad CIDR, bad port, negative disk",
			src: `resource "aws_security_group" "s" {
  name = "s"
  ingress {
    port        = 70000
    cidr_blocks = ["10.0.0.0/8", "10.0.0.300/8"]
  }
}
resource "aws_instance" "a" {
  ami     = "ami-1"
  disk_gb = -5
  ssh {
    host    = "h"
    port    = 0
    timeout = "soon"
  }
}`,
			want: []string{
				"main.hcl:4: Invalid attribute value",
				"main.hcl:5: Invalid attribute value",
				"main.hcl:10: Invalid attribute value",
				"main.hcl:13: Invalid port",
				"main.hcl:14: Invalid timeout",
			},
			detail: "from 1 to 65535",
		},
		{
			name: "bad CIDR from a variable",
			src: `variable "cidr" { default = "everywhere" }
resource "aws_security_group" "s" {
  name = "s"
  ingress {
    port        = 22
    cidr_blocks = [var.cidr]
  }
}`,
			want:   []string{"main.hcl:6: Invalid attribute value"},
			detail: `"everywhere" is not a CIDR block`,
		},
		{
			name: "layer in a resource that is not a host",
			src: `resource "aws_security_group" "s" {
  name = "s"
  ssh { host = "h" }
  layer "apt" {}
}`,
			want: []string{
				"main.hcl:3: Unsupported ssh block",
				"main.hcl:4: Unsupported layer block",
			},
			detail: `"aws_security_group" are not hosts`,
		},
		{
			name: "layers without ssh",
			src: `resource "aws_instance" "a" {
  ami = "ami-1"
  layer "apt" {}
}`,
			want: []string{"main.hcl:1: Missing ssh block"},
		},
		{
			name: "ssh without host",
			src: `resource "host" "h" {
  ssh { user = "me" }
}`,
			want: []string{"main.hcl:2: Missing required argument"},
		},
		{
			name: "lifecycle and depends_on",
			src: `resource "aws_key_pair" "k" {
  name = "k"
  lifecycle { prevent_destroy = var.x }
  depends_on = [aws_key_pair.j, "k"]
}`,
			want: []string{
				"main.hcl:3: Variables not allowed",
				"main.hcl:4: Reference to undeclared resource",
				"main.hcl:4: Invalid depends_on reference",
			},
		},
		{
			name: "provider and backend use only constants and variables",
			src: `resource "aws_key_pair" "k" { name = "k" }
locals { kid = aws_key_pair.k.id }
provider "aws" { region = aws_key_pair.k.name }
mlops {
  backend "s3" {
    bucket = local.kid
    key    = "k"
  }
}`,
			want: []string{
				"main.hcl:3: Invalid reference",
				"main.hcl:6: Invalid reference",
			},
		},
		{
			name: "backend problems",
			src: `mlops {
  backend "s3" {
    bucket = "b"
    regoin = "x"
  }
  backend "s4" {}
}`,
			want: []string{
				"main.hcl:2: Missing required argument",
				"main.hcl:4: Unsupported argument",
				"main.hcl:6: Unsupported backend type",
			},
		},
		{
			name: "variable default of the wrong type",
			src: `variable "n" {
  type    = number
  default = "many"
}
variable "t" { type = strin }`,
			want: []string{
				"main.hcl:3: Invalid default value for variable",
				"main.hcl:5: No value for required variable",
				"main.hcl:5: Invalid type specification",
			},
		},
		{
			name: "several errors in one file are all reported",
			src: `resource "aws_instance" "a" {
  ami     = var.nope
  disk_gb = -1
  color   = "red"
}
resource "aws_security_group" "s" {
  name = local.missing
}
output "o" { value = aws_instance.b.id }`,
			want: []string{
				"main.hcl:2: Reference to undeclared input variable",
				"main.hcl:3: Invalid attribute value",
				"main.hcl:4: Unsupported argument",
				"main.hcl:7: Reference to undeclared local value",
				"main.hcl:9: Reference to undeclared resource",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadSrc(t, tt.src, testOpts())
			got := diagLines(diags)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", d, renderDiags(diags))
			}
			for _, d := range diags {
				if d.Detail == "" || d.Summary == "" {
					t.Errorf("diagnostic without summary or detail: %#v", d)
				}
			}
			if tt.detail != "" && len(diags) > 0 && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
		})
	}
}
