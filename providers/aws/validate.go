package aws

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

var _ providers.ConfigValidator = (*Provider)(nil)

// ValidateResourceConfig implements providers.ConfigValidator: the checks of
// PlanChange that need no API call, for `mlops validate`.
func (p *Provider) ValidateResourceConfig(req providers.ValidateResourceConfigRequest) providers.ValidateResourceConfigResponse {
	if req.Config.IsNull() || !req.Config.IsKnown() {
		return providers.ValidateResourceConfigResponse{}
	}
	if t, ok := p.resourceType(req.Addr.Type); ok && t.validate != nil {
		return providers.ValidateResourceConfigResponse{Diagnostics: t.validate(req.Addr, req.Config)}
	}
	return providers.ValidateResourceConfigResponse{}
}

// validateKeyPair: exactly one of private_key_file and public_key, a
// public key that parses, a private key file that is usable when it exists
// (a missing one is generated at apply). Unknown values count as set and
// are not checked further.
func (p *Provider) validateKeyPair(addr addrs.Resource, cfg cty.Value) hcl.Diagnostics {
	hasFile := isSet(cfg, "private_key_file") || isUnknown(cfg, "private_key_file")
	hasPub := isSet(cfg, "public_key") || isUnknown(cfg, "public_key")
	switch {
	case hasFile && hasPub:
		return hcl.Diagnostics{providers.AttributeError("public_key", "Conflicting key pair settings",
			fmt.Sprintf("%s sets both private_key_file and public_key: set private_key_file (mlops derives the public key, or generates a key there) or public_key, not both.", addr))}
	case !hasFile && !hasPub:
		return errorDiag("Missing key pair settings",
			"%s needs private_key_file (an existing private key, or where mlops writes a new one) or public_key.", addr)
	}
	if isSet(cfg, "public_key") {
		if _, err := parsePublicKey(getString(cfg, "public_key")); err != nil {
			return hcl.Diagnostics{providers.AttributeError("public_key", "Invalid public key", err.Error())}
		}
	}
	if isSet(cfg, "private_key_file") {
		if _, err := p.readPublicKeyOfFile(getString(cfg, "private_key_file")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return hcl.Diagnostics{providers.AttributeError("private_key_file", "Cannot use private key file", err.Error())}
		}
	}
	return nil
}

// validateSecurityGroup: ingress rules that translate into permissions.
func validateSecurityGroup(addr addrs.Resource, cfg cty.Value) hcl.Diagnostics {
	if _, err := ingressPermissions(getAttr(cfg, "ingress")); err != nil {
		return hcl.Diagnostics{providers.AttributeError("ingress", "Invalid ingress rule", fmt.Sprintf("%s: %v", addr, err))}
	}
	return nil
}
