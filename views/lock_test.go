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

// TestRenderUpgradePackages pins how plan -upgrade shows the package
// versions and checksums it re-resolves: one line per package that moves,
// the unchanged ones counted, in text and in JSON.
func TestRenderUpgradePackages(t *testing.T) {
	dev := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	tools := addrs.Layer{Resource: dev, Name: "tools"}
	v := cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("i-1")})
	reason := "-upgrade: the versions the host's package lists offer, as of its last apt-get update, lists dated 2026-11-29 06:30 UTC"
	p := &plan.Plan{Lineage: "l", Serial: 4, Upgrade: true, Changes: []*plan.Change{{
		Addr: dev, Action: plan.NoOp, Before: v, After: v,
		Layers: []*plan.LayerChange{{Addr: tools, Kind: "apt", Action: plan.Update,
			Reasons: []string{"package jq version 1.6 -> 1.7 (-upgrade)", "package make version 4.3 -> 4.4 (-upgrade)"}}},
	}}, LockChanges: []*plan.LockChange{
		{Kind: "layer", Key: "aws_instance.dev.layer.docker", Action: plan.NoOp, Reason: reason, Unchanged: 1},
		{Kind: "layer", Key: tools.String(), Action: plan.Update, Reason: reason,
			Before: "git 2.39, jq 1.6, make 4.3", After: "git 2.39, jq 1.7, make 4.4", Unchanged: 1,
			Packages: []plan.PackageMove{{Name: "jq", Before: "1.6", After: "1.7"}, {Name: "make", Before: "4.3", After: "4.4"}}},
		{Kind: "download", Key: "https://example.com/docker-compose", Action: plan.Update, Reason: "-upgrade",
			Before: "sha256 b9ee36ce1bcfd7273bff02ddc1bee90267008ab026513127d928ea6486937cb3",
			After:  "re-resolved if a layer downloads it in this apply (a new machine, a changed layer): the sha256 it gets is recorded then instead of checked"},
	}}
	schemas := schema.Schemas{Resources: map[string]*schema.Resource{"aws_instance": {IDAttr: "id", Block: schema.Block{
		Attributes: map[string]*schema.Attribute{"id": {Type: cty.String, Computed: true}}}}}}
	var text, js bytes.Buffer
	RenderPlan(&text, &Streams{}, schemas, p)
	RenderPlanLock(&text, &Streams{}, p)
	golden(t, filepath.Join("testdata", "upgrade-packages.txt"), text.String())
	if err := RenderPlanJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "upgrade-packages.json"), js.String())
}
