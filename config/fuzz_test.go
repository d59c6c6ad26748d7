package config

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzLoad loads any bytes as a configuration file. Loading must never
// panic, and a configuration without errors must evaluate without panicking.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`resource "aws_key_pair" "k" { name = "k" }`))
	f.Add([]byte(`resource "host" "h" {
  ssh { host = self.id }
  layer "apt" { packages = [for p in ["a"] : upper(p)] }
}`))
	// Sensitive values through every kind of block: marks must never reach
	// code that reads a value (AsString panics on a marked value).
	f.Add([]byte(`variable "s" {
  sensitive = true
  default   = "x"
}
locals { l = { a = var.s } }
resource "host" "h" {
  ssh {
    host = var.s
    port = length(var.s) + 21
  }
  layer "file" {
    destination = "/tmp/${var.s}"
    content     = local.l.a
  }
  layer "apt" { packages = [var.s] }
}
resource "aws_security_group" "g" {
  name = var.s
  ingress {
    port        = 22
    cidr_blocks = [var.s == "" ? "10.0.0.0/8" : "0.0.0.0/0"]
  }
}
output "o" {
  value     = var.s
  sensitive = true
}
mlops {
  backend "s3" {
    bucket = var.s
    key    = "k"
  }
}`))
	opts := testOpts()
	opts.AllowUnsetVariables = true
	f.Fuzz(func(t *testing.T, src []byte) {
		c, diags := LoadFiles("/cfg", map[string][]byte{"main.hcl": src}, opts)
		if c == nil {
			t.Fatal("nil config")
		}
		for _, d := range diags {
			if d.Summary == "" || d.Detail == "" || d.Subject == nil {
				t.Errorf("diagnostic without summary, detail or subject: %#v", d)
			}
		}
		Format("main.hcl", src)
		if diags.HasErrors() {
			return
		}
		for addr := range c.Resources {
			c.EvalResource(addr, nil)
			c.EvalSSH(addr, nil, cty.NilVal)
			c.EvalLayers(addr, nil, cty.NilVal)
		}
		for name := range c.Providers {
			c.EvalProvider(name)
		}
		c.EvalOutputs(nil)
	})
}
