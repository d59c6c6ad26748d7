package views

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// TestStateViews pins mlops state list, state show and show: a resource
// with a sensitive attribute, a nested block, a host key, a tainted status
// and a layer; a data source; the outputs; and the empty state.
func TestStateViews(t *testing.T) {
	rs := &schema.Resource{IDAttr: "id", Block: schema.Block{
		Attributes: map[string]*schema.Attribute{
			"ami":       {Type: cty.String, Required: true},
			"id":        {Type: cty.String, Computed: true},
			"user_data": {Type: cty.String, Optional: true, Sensitive: true},
			"tags":      {Type: cty.Map(cty.String), Optional: true},
		},
		BlockTypes: map[string]*schema.NestedBlock{"root_disk": {Nesting: schema.NestingSingle, Block: schema.Block{
			Attributes: map[string]*schema.Attribute{"size_gb": {Type: cty.Number, Optional: true}},
		}}},
	}}
	ami := &schema.Resource{Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"id": {Type: cty.String, Computed: true}, "name": {Type: cty.String, Required: true},
	}}}
	schemas := schema.Schemas{Resources: map[string]*schema.Resource{"aws_instance": rs}, DataSources: map[string]*schema.Resource{"aws_ami": ami}}

	dev := state.ResourceFor(addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"})
	dev.ID = "i-0abc"
	dev.Attributes = []byte(`{"ami":"ami-1","id":"i-0abc","user_data":"#!/bin/sh\nsecret","tags":{"Name":"dev"},"root_disk":{"size_gb":30}}`)
	dev.HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"
	dev.Status = state.StatusTainted
	dev.Layers = []*state.Layer{{Name: "base", Kind: "apt", Digest: "sha256:0f1e", AppliedAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}}
	ubuntu := state.ResourceFor(addrs.Resource{Mode: addrs.Data, Type: "aws_ami", Name: "ubuntu"})
	ubuntu.Attributes = []byte(`{"id":"ami-1","name":"ubuntu-*"}`)
	st := state.New("l")
	st.SetResource(dev)
	st.SetResource(ubuntu)
	st.Outputs = map[string]*state.Output{"ip": testOutput(t, cty.StringVal("203.0.113.7"), false)}

	var out bytes.Buffer
	RenderStateList(&out, []string{dev.Address, ubuntu.Address})
	out.WriteString("--- state show\n")
	RenderResource(&out, schemas, dev)
	out.WriteString("--- show\n")
	RenderState(&out, schemas, st)
	out.WriteString("--- show, empty state\n")
	RenderState(&out, schemas, state.New("l"))
	golden(t, filepath.Join("testdata", "operation", "state.txt"), out.String())
}
