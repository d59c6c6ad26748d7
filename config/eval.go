package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// evaluator holds what evaluation needs: variable values, locals, functions.
type evaluator struct{}

// Load reads all *.hcl files of dir.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) { panic("TODO") }

// LoadFiles loads a configuration from in-memory files (name -> content);
// dir is used for file() and relative paths.
func LoadFiles(dir string, files map[string][]byte, opts LoadOptions) (*Config, hcl.Diagnostics) {
	panic("TODO")
}

// EvalProvider evaluates a provider block (variables and locals only).
func (c *Config) EvalProvider(name string) (cty.Value, hcl.Diagnostics) { panic("TODO") }

// EvalResource evaluates a resource or data block into an object of its
// schema's implied type: configured attributes, defaults for the unset
// optional ones, null for unset computed ones. Known values are validated
// (schema Validate). References to resources not in vals are unknown.
func (c *Config) EvalResource(addr addrs.Resource, vals Values) (cty.Value, hcl.Diagnostics) {
	panic("TODO")
}

// EvalSSH evaluates the ssh block of a resource; self is the resource's own
// current value (unknown before it exists).
func (c *Config) EvalSSH(addr addrs.Resource, vals Values, self cty.Value) (SSHSettings, hcl.Diagnostics) {
	panic("TODO")
}

// EvalLayers evaluates the layer blocks of a resource, in order.
func (c *Config) EvalLayers(addr addrs.Resource, vals Values, self cty.Value) ([]LayerValue, hcl.Diagnostics) {
	panic("TODO")
}

// EvalOutputs evaluates all outputs.
func (c *Config) EvalOutputs(vals Values) (map[string]cty.Value, hcl.Diagnostics) { panic("TODO") }

// Format rewrites HCL source in canonical style (mlops fmt). It returns
// syntax errors as diagnostics and the source unchanged.
func Format(filename string, src []byte) ([]byte, hcl.Diagnostics) { panic("TODO") }
