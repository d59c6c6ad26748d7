package views

import (
	"fmt"
	"io"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// RenderStateList prints the addresses of mlops state list, one a line.
func RenderStateList(w io.Writer, addresses []string) {
	for _, a := range addresses {
		fmt.Fprintln(w, a)
	}
}

// RenderState prints what mlops show prints for a state: every resource as
// HCL-like text, blank lines between them, then the outputs.
func RenderState(w io.Writer, schemas schema.Schemas, st *state.State) {
	if len(st.Resources) == 0 {
		fmt.Fprintln(w, "The state is empty: nothing has been applied yet.")
		return
	}
	for i, r := range st.Resources {
		if i > 0 {
			fmt.Fprintln(w)
		}
		RenderResource(w, schemas, r)
	}
	RenderOutputs(w, st.Outputs)
}

// RenderResource prints one recorded resource as HCL-like text: its
// attributes and blocks (sensitive ones masked), status, host key and
// layers as comments.
func RenderResource(out io.Writer, schemas schema.Schemas, r *state.Resource) {
	addr := r.Addr()
	m := schemas.Resources
	kw := "resource"
	if addr.Mode == addrs.Data {
		m = schemas.DataSources
		kw = "data"
	}
	fmt.Fprintf(out, "# %s:\n%s %q %q {\n", r.Address, kw, r.Type, r.Name)
	if rs := m[r.Type]; rs != nil {
		if v, err := ctyjson.Unmarshal(r.Attributes, rs.ImpliedType()); err == nil {
			v = plan.MarkSensitive(v, r.Sensitive)
			for _, n := range rs.AttributeNames() {
				av := v.GetAttr(n)
				if av.IsNull() {
					continue
				}
				if rs.Attributes[n].Sensitive {
					fmt.Fprintf(out, "    %s = (sensitive value)\n", n)
					continue
				}
				fmt.Fprintf(out, "    %s = %s\n", n, ValueStringIndent(av, "    "))
			}
			for _, bn := range rs.BlockTypeNames() {
				bv := v.GetAttr(bn)
				if bv.IsMarked() {
					fmt.Fprintf(out, "    %s = %s\n", bn, plan.SensitiveValue)
					continue
				}
				if bv.IsNull() || bv.LengthInt() == 0 {
					continue
				}
				fmt.Fprintf(out, "    %s = %s\n", bn, ValueStringIndent(bv, "    "))
			}
		}
	}
	if r.Status != "" {
		fmt.Fprintf(out, "    # status: %s\n", r.Status)
	}
	if r.HostKey != "" {
		fmt.Fprintf(out, "    # host key: %s\n", r.HostKey)
	}
	for _, l := range r.Layers {
		fmt.Fprintf(out, "    layer %q %q { # applied %s, %s }\n", l.Kind, l.Name, l.AppliedAt.Format("2006-01-02 15:04:05 MST"), l.Digest)
	}
	fmt.Fprintln(out, "}")
}
