package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"golang.org/x/crypto/ssh"
)

// AuthorizedKeysLayer is the name and kind of the layer that an ssh
// block's authorized_keys becomes: mlops writes the keys into a block of
// its own in the SSH user's ~/.ssh/authorized_keys, first of the host's
// layers, so that the people it lets in can log in for the layers after.
const AuthorizedKeysLayer = "authorized_keys"

// authorizedKeys returns the keys of a known list of strings, trimmed.
func authorizedKeys(v cty.Value) []string {
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, k := it.Element()
		if k.IsKnown() && !k.IsNull() {
			out = append(out, strings.TrimSpace(k.AsString()))
		}
	}
	return out
}

// authorizedKeysLayer turns the ssh block's authorized_keys into a layer
// of kind authorized_keys; ok is false when the block has none.
func (s *scope) authorizedKeysLayer(r *Resource, self cty.Value) (LayerValue, hcl.Diagnostics, bool) {
	if r.SSH == nil || r.SSH.attrs[AuthorizedKeysLayer] == nil {
		return LayerValue{}, nil, false
	}
	ls := s.c.eval.schemas.Layers[AuthorizedKeysLayer]
	if ls == nil {
		return LayerValue{}, nil, false
	}
	a := r.SSH.attrs[AuthorizedKeysLayer]
	for _, ly := range r.Layers {
		if ly.Addr.Name == AuthorizedKeysLayer {
			return LayerValue{}, hcl.Diagnostics{errorf(a.NameRange.Ptr(), "Duplicate layer",
				"%s sets authorized_keys in its ssh block, which is the layer named %q, and has a layer of that name at %s; keep one of them.",
				r.Addr, AuthorizedKeysLayer, rangeString(ly.DeclRange))}, true
		}
	}
	lv := LayerValue{Addr: addrs.Layer{Resource: r.Addr, Name: AuthorizedKeysLayer}, Kind: AuthorizedKeysLayer,
		Config: cty.UnknownVal(ls.ImpliedType()), DeclRange: a.Range}
	if s.c.eval.skip[a.Expr] {
		return lv, nil, true
	}
	v, diags := a.Expr.Value(s.context(a.Expr.Variables(), self))
	if diags.HasErrors() {
		return lv, diags, true
	}
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		return lv, append(diags, errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
			"Inappropriate value for attribute \"authorized_keys\": %s.", conversionError(err))), true
	}
	if !v.IsWhollyKnown() {
		return lv, diags, true
	}
	if v.IsNull() {
		v = cty.ListValEmpty(cty.String)
	}
	keys := authorizedKeys(v)
	for _, k := range keys {
		if msg := checkPublicKey(k); msg != "" {
			diags = append(diags, errorf(a.Expr.Range().Ptr(), "Invalid public key", "authorized_keys: %s", msg))
		}
	}
	if diags.HasErrors() {
		return lv, diags, true
	}
	list := cty.ListValEmpty(cty.String)
	if len(keys) > 0 {
		elems := make([]cty.Value, len(keys))
		for i, k := range keys {
			elems[i] = cty.StringVal(k)
		}
		list = cty.ListVal(elems)
	}
	lv.Config = cty.ObjectVal(map[string]cty.Value{"keys": list})
	return lv, diags, true
}

// checkPublicKey says what is wrong with one authorized_keys entry ("" when
// nothing): it must be one public key line, never a private key.
func checkPublicKey(k string) string {
	switch {
	case strings.Contains(k, "PRIVATE KEY"):
		return "this is a private key; give the public key (the .pub file): a private key must never leave its owner's machine"
	case strings.ContainsAny(k, "\n\r"):
		return "each entry must be one public key on one line"
	}
	if _, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil || len(rest) > 0 || len(opts) > 0 {
		return quoteClipped(k, 40) + " is not a public key in authorized_keys format without options (ssh-ed25519 AAAA... comment)"
	}
	return ""
}
