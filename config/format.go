package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format rewrites HCL source in canonical style (mlops fmt). It returns
// syntax errors as diagnostics and the source unchanged.
func Format(filename string, src []byte) ([]byte, hcl.Diagnostics) {
	if diags := CheckNesting(src, filename); diags.HasErrors() {
		return src, diags
	}
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return src, diags
	}
	return hclwrite.Format(src), nil
}
