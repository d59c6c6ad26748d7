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
