package plan

import (
	"fmt"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// CheckSchemas verifies that every value of a decoded plan (a saved plan
// file, which anyone can edit) has the type its resource's schema implies,
// so that nothing that renders or applies the plan meets a value of an
// unexpected shape. It returns the first mismatch.
func CheckSchemas(p *Plan, s schema.Schemas) error {
	for _, c := range p.Changes {
		rs, err := resourceSchema(s, c.Addr)
		if err != nil {
			return err
		}
		ty := rs.ImpliedType()
		for _, side := range []struct {
			name string
			v    cty.Value
		}{{"before", c.Before}, {"after", c.After}} {
			if side.v == cty.NilVal || side.v.IsNull() && side.v.Type() == cty.DynamicPseudoType {
				continue
			}
			if !side.v.Type().Equals(ty) {
				return fmt.Errorf("%s: the %s value does not fit the schema of %s (%s)", c.Addr, side.name, c.Addr.Type, typeMismatch(side.v.Type(), ty))
			}
		}
		for _, l := range c.Layers {
			if l.Addr.Resource != c.Addr {
				return fmt.Errorf("%s: layer %s belongs to another resource", c.Addr, l.Addr)
			}
		}
	}
	return nil
}

// typeMismatch names the first attribute whose type differs.
func typeMismatch(got, want cty.Type) string {
	if got.IsObjectType() && want.IsObjectType() {
		for name, wt := range want.AttributeTypes() {
			if !got.HasAttribute(name) {
				return "attribute " + name + " missing"
			}
			if gt := got.AttributeType(name); !gt.Equals(wt) {
				return fmt.Sprintf("attribute %s is %s, not %s", name, gt.FriendlyName(), wt.FriendlyName())
			}
		}
		for name := range got.AttributeTypes() {
			if !want.HasAttribute(name) {
				return "unexpected attribute " + name
			}
		}
	}
	return fmt.Sprintf("%s, not %s", got.FriendlyName(), want.FriendlyName())
}
