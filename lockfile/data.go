package lockfile

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Check holds the data source entries against the data source schemas: an
// unknown data source type, an unknown attribute or a value of the wrong
// type is an error at the entry's line. It sets nothing; Value converts.
func (l *Lock) Check(dataSources map[string]*schema.Resource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, k := range sortedKeys(l.Data) {
		d := l.Data[k]
		rs := dataSources[d.Type]
		if rs == nil {
			diags = append(diags, diagf(d.DeclRange, "Invalid lock entry", "%q is not a data source type mlops knows.", d.Type))
			continue
		}
		if _, err := d.Value(rs); err != nil {
			diags = append(diags, diagf(d.DeclRange, "Invalid lock entry", "%s: %s.", d.Addr(), err))
		}
	}
	return diags
}

// Value returns the entry as a value of the data source's schema type;
// attributes it does not record are null.
func (d *DataSource) Value(rs *schema.Resource) (cty.Value, error) {
	vals := map[string]cty.Value{}
	for _, n := range sortedKeys(d.Attrs) {
		a := rs.Block.Attributes[n]
		if a == nil {
			return cty.NilVal, fmt.Errorf("%s is not an attribute of %s", n, d.Type)
		}
		v, err := convert.Convert(d.Attrs[n], a.Type)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %s", n, err)
		}
		vals[n] = v
	}
	for n, a := range rs.Block.Attributes {
		if _, ok := vals[n]; !ok {
			vals[n] = cty.NullVal(a.Type)
		}
	}
	return cty.ObjectVal(vals), nil
}

// SetData records a data source's value (null attributes are left out).
func (l *Lock) SetData(typ, name string, v cty.Value) {
	d := &DataSource{Type: typ, Name: name, Attrs: map[string]cty.Value{}}
	if old := l.Data[d.Addr()]; old != nil {
		d.DeclRange = old.DeclRange
	}
	for it := v.ElementIterator(); it.Next(); {
		k, av := it.Element()
		if !av.IsNull() && av.IsWhollyKnown() {
			d.Attrs[k.AsString()] = av
		}
	}
	l.Data[d.Addr()] = d
}
