package views

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// guardedPlan is a plan that replaces a machine with a data volume.
func guardedPlan(named bool) (*plan.Plan, schema.Schemas) {
	rs := &schema.Resource{IDAttr: "id", Block: schema.Block{
		Attributes: map[string]*schema.Attribute{
			"ami": {Type: cty.String, Required: true, ForceNew: true},
			"id":  {Type: cty.String, Computed: true},
		},
		BlockTypes: map[string]*schema.NestedBlock{"data_volume": {Nesting: schema.NestingSingle, Block: schema.Block{
			Attributes: map[string]*schema.Attribute{
				"size_gb": {Type: cty.Number, Required: true},
				"id":      {Type: cty.String, Computed: true},
			},
		}}},
	}}
	dv := cty.ObjectVal(map[string]cty.Value{"size_gb": cty.NumberIntVal(100), "id": cty.StringVal("vol-0abc")})
	addr := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	p := &plan.Plan{Lineage: "l", Serial: 3, Changes: []*plan.Change{{
		Addr:         addr,
		Action:       plan.Replace,
		Before:       cty.ObjectVal(map[string]cty.Value{"ami": cty.StringVal("ami-old"), "id": cty.StringVal("i-1"), "data_volume": dv}),
		After:        cty.ObjectVal(map[string]cty.Value{"ami": cty.StringVal("ami-new"), "id": cty.UnknownVal(cty.String), "data_volume": dv}),
		ReplacePaths: []cty.Path{cty.GetAttrPath("ami")},
		Reasons:      []string{"ami forces replacement"},
		Loses:        "replacing destroys the 30 GB root disk and everything on it that is not on the data volume (vol-0abc, ~/work, is kept and attached to the new instance)",
	}}}
	if named {
		p.Replace = []addrs.Resource{addr}
	}
	return p, schema.Schemas{Resources: map[string]*schema.Resource{"aws_instance": rs}}
}

// TestRenderGuardedReplacement pins how a plan shows the replacement of a
// converged machine: what it loses, and whether apply refuses it.
func TestRenderGuardedReplacement(t *testing.T) {
	for _, c := range []struct {
		name  string
		named bool
	}{{"replace-refused", false}, {"replace-named", true}} {
		t.Run(c.name, func(t *testing.T) {
			p, schemas := guardedPlan(c.named)
			var text, js bytes.Buffer
			RenderPlan(&text, &Streams{}, schemas, p)
			golden(t, filepath.Join("testdata", c.name+".txt"), text.String())
			if err := RenderPlanJSON(&js, p); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", c.name+".json"), js.String())
		})
	}
}

// TestRenderGrowingDataVolume: a single nested block that changes is drawn
// in place (~ data_volume { ~ size_gb = 100 -> 200 }), not as a removal
// and an addition.
func TestRenderGrowingDataVolume(t *testing.T) {
	p, schemas := guardedPlan(false)
	ch := p.Changes[0]
	ch.Action, ch.Loses, ch.Reasons, ch.ReplacePaths = plan.Update, "", nil, nil
	ch.After = cty.ObjectVal(map[string]cty.Value{"ami": cty.StringVal("ami-old"), "id": cty.StringVal("i-1"),
		"data_volume": cty.ObjectVal(map[string]cty.Value{"size_gb": cty.NumberIntVal(200), "id": cty.StringVal("vol-0abc")})})
	ch.Notes = []string{"data volume vol-0abc grows from 100 to 200 GiB in place; its file system is grown on the host"}
	var text bytes.Buffer
	RenderPlan(&text, &Streams{}, schemas, p)
	golden(t, filepath.Join("testdata", "volume-grows.txt"), text.String())
}
