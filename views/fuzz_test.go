package views

import (
	"io"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/aws"
	"github.com/mlops-dev/mlops/providers/builtin"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/zclconf/go-cty/cty"
)

// FuzzShowSavedPlan is mlops show PLANFILE on arbitrary bytes: a file the
// decoder and the schema check accept renders, as text and as JSON,
// without a panic (a value that did not fit the schema used to panic the
// renderer).
func FuzzShowSavedPlan(f *testing.F) {
	schemas := providers.Registry{"aws": aws.New(aws.Options{}), "host": builtin.New()}.Schemas(layers.Schemas())
	for _, typ := range []string{"aws_security_group", "aws_instance", "host"} {
		ty := schemas.Resources[typ].ImpliedType()
		addr := addrs.Resource{Mode: addrs.Managed, Type: typ, Name: "x"}
		for _, c := range []*plan.Change{
			{Addr: addr, Action: plan.Create, Before: cty.NullVal(ty), After: cty.UnknownVal(ty)},
			{Addr: addr, Action: plan.Delete, Before: cty.UnknownAsNull(cty.UnknownVal(ty)), After: cty.NullVal(ty)},
		} {
			b, err := plan.Marshal(&plan.Plan{Lineage: "l", Serial: 1, Changes: []*plan.Change{c}})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plan.Unmarshal(data)
		if err != nil || plan.CheckSchemas(p, schemas) != nil {
			return
		}
		RenderPlan(io.Discard, &Streams{}, schemas, p)
		if err := RenderPlanJSON(io.Discard, p); err != nil {
			t.Logf("JSON: %v", err)
		}
	})
}
