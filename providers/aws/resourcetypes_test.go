package aws

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// TestTypeTableMatchesSchemas: every resource type and data source the
// provider declares has a complete table entry, and every table entry is
// declared, once.
func TestTypeTableMatchesSchemas(t *testing.T) {
	p := New(Options{})
	s := p.Schemas()
	var names []string
	for _, rt := range p.resources {
		names = append(names, rt.name)
		if rt.schema == nil || rt.plan == nil || rt.create == nil || rt.update == nil || rt.delete == nil ||
			rt.refresh == nil || rt.importID == nil {
			t.Errorf("%s: the table entry lacks a function (schema, plan, create, update, delete, refresh and importID are all required)", rt.name)
		}
		if s.Resources[rt.name] == nil {
			t.Errorf("%s is in the type table but has no schema", rt.name)
		}
	}
	if sorted := slices.Sorted(maps.Keys(s.Resources)); !slices.Equal(sorted, slices.Sorted(slices.Values(names))) {
		t.Errorf("resource schemas %v, type table %v: want the same types, each once", sorted, names)
	}
	want := []string{"aws_eip", "aws_instance", "aws_key_pair", "aws_security_group"}
	if got := slices.Sorted(slices.Values(names)); !slices.Equal(got, want) {
		t.Errorf("resource types = %v, want %v", got, want)
	}
	var ds []string
	for _, d := range p.dataSources {
		ds = append(ds, d.name)
		if d.schema == nil || d.read == nil {
			t.Errorf("data source %s: the table entry lacks its schema or read", d.name)
		}
	}
	sort.Strings(ds)
	if len(ds) != len(s.DataSources) || !slices.Equal(ds, []string{"aws_ami"}) {
		t.Errorf("data sources = %v (schemas: %d), want [aws_ami]", ds, len(s.DataSources))
	}
}

// widget is a resource type that exists only in this test: registering it
// is one line, and every Provider method then reaches it. Its functions
// record what was called and make no API call.
type widget struct {
	calls []string
}

func widgetSchema() *schema.Resource {
	return &schema.Resource{IDAttr: "id", Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"size": {Type: cty.Number, Optional: true},
		"id":   {Type: cty.String, Computed: true},
	}}}
}

func (w *widget) state(id string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(1), "id": cty.StringVal(id)})
}

func (w *widget) apply(what string) func(context.Context, *ec2.Client, providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	return func(_ context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
		if c == nil {
			what += " without a client"
		}
		w.calls = append(w.calls, what)
		if what == "delete" {
			return providers.ApplyChangeResponse{NewState: cty.NullVal(widgetSchema().ImpliedType())}
		}
		return providers.ApplyChangeResponse{NewState: w.state(what)}
	}
}

func (w *widget) resourceType() resourceType {
	return resourceType{
		name: "aws_widget", schema: widgetSchema,
		validate: func(addrs.Resource, cty.Value) hcl.Diagnostics {
			w.calls = append(w.calls, "validate")
			return errorDiag("Widget", "validated")
		},
		plan: func(req providers.PlanChangeRequest) providers.PlanChangeResponse {
			w.calls = append(w.calls, "plan")
			return providers.PlanChangeResponse{Planned: req.Config}
		},
		create: w.apply("create"), update: w.apply("update"), delete: w.apply("delete"),
		refresh: func(_ context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
			w.calls = append(w.calls, "refresh")
			out := make([]cty.Value, len(objs))
			for i := range objs {
				out[i] = w.state("refreshed")
			}
			return out, nil
		},
		importID: func(_ context.Context, _ *ec2.Client, req providers.ImportRequest) providers.ImportResponse {
			w.calls = append(w.calls, "import "+req.ID)
			return providers.ImportResponse{State: w.state(req.ID)}
		},
	}
}

// TestNewTypeIsOneRegistration: a type added to the table is declared by
// Schemas and dispatched by ValidateResourceConfig, PlanChange, ApplyChange
// (delete, create or update by which side is null), Refresh (with the other
// types, in one call) and Import, and the dispatch itself calls no API.
func TestNewTypeIsOneRegistration(t *testing.T) {
	w := newWorld(t, nil)
	wd := &widget{}
	w.p.resources = append(w.p.resources, wd.resourceType())
	addr := resourceAddr("aws_widget", "w")
	null := cty.NullVal(widgetSchema().ImpliedType())
	cfg := cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(1), "id": cty.UnknownVal(cty.String)})

	if w.p.Schemas().Resources["aws_widget"] == nil {
		t.Error("Schemas does not declare the registered type")
	}
	v := w.p.ValidateResourceConfig(providers.ValidateResourceConfigRequest{Addr: addr, Config: cfg})
	if !strings.Contains(diagText(v.Diagnostics), "validated") {
		t.Errorf("ValidateResourceConfig = %q, want the type's validate", diagText(v.Diagnostics))
	}
	if pl := w.p.PlanChange(w.ctx, providers.PlanChangeRequest{Addr: addr, Prior: null, Config: cfg}); !pl.Planned.RawEquals(cfg) {
		t.Errorf("PlanChange planned %#v, want the config", pl.Planned)
	}
	created := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: null, Planned: cfg, Config: cfg})
	updated := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: created.NewState, Planned: cfg, Config: cfg})
	deleted := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: updated.NewState, Planned: null})
	if getString(created.NewState, "id") != "create" || getString(updated.NewState, "id") != "update" || !deleted.NewState.IsNull() {
		t.Errorf("ApplyChange states = %#v, %#v, %#v", created.NewState, updated.NewState, deleted.NewState)
	}
	// The widget is refreshed in the same call as a recorded key pair that
	// no longer exists (DescribeKeyPairs is then the only API call).
	kp := keyPairState(types.KeyPairInfo{KeyName: awssdk.String("gone"), KeyPairId: awssdk.String("key-0gone")}, cty.NullVal(keyPairSchema().ImpliedType()))
	r := w.p.Refresh(w.ctx, providers.RefreshRequest{Resources: []providers.ResourceObject{
		{Addr: addr, State: created.NewState}, {Addr: resourceAddr("aws_key_pair", "k"), State: kp}}})
	noErrors(t, r.Diagnostics)
	if len(r.States) != 2 || getString(r.States[0], "id") != "refreshed" || !r.States[1].IsNull() {
		t.Errorf("Refresh states = %#v, want the widget refreshed and the key pair gone", r.States)
	}
	if im := w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: "w-1"}); getString(im.State, "id") != "w-1" {
		t.Errorf("Import state = %#v", im.State)
	}
	want := []string{"validate", "plan", "create", "update", "delete", "refresh", "import w-1"}
	if !slices.Equal(wd.calls, want) {
		t.Errorf("calls = %q, want %q", wd.calls, want)
	}
	if got := w.counts.String(); got != "DescribeKeyPairs=1" {
		t.Errorf("API calls = %s, want only the key pair's DescribeKeyPairs", got)
	}
}

// TestUnknownTypeDiagnostics: a type not in the table is refused the same
// way by every method, before any API call.
func TestUnknownTypeDiagnostics(t *testing.T) {
	w := newWorld(t, nil)
	addr := resourceAddr("aws_nothing", "x")
	obj := cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("x")})
	const want = "Unknown resource type: The aws provider has no resource type aws_nothing."
	check := func(method string, diags hcl.Diagnostics) {
		t.Helper()
		if len(diags) != 1 || diags[0].Summary+": "+diags[0].Detail != want {
			t.Errorf("%s: %q, want %q", method, diagText(diags), want)
		}
	}
	check("PlanChange", w.p.PlanChange(w.ctx, providers.PlanChangeRequest{Addr: addr, Prior: cty.NullVal(obj.Type()), Config: obj}).Diagnostics)
	ap := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{Addr: addr, Prior: obj, Planned: cty.NullVal(obj.Type())})
	check("ApplyChange", ap.Diagnostics)
	if !ap.NewState.RawEquals(obj) {
		t.Errorf("ApplyChange of an unknown type lost the prior state: %#v", ap.NewState)
	}
	check("Import", w.p.Import(w.ctx, providers.ImportRequest{Addr: addr, ID: "x"}).Diagnostics)
	check("Refresh", w.p.Refresh(w.ctx, providers.RefreshRequest{Resources: []providers.ResourceObject{{Addr: addr, State: obj}}}).Diagnostics)
	ds := w.p.ReadDataSource(w.ctx, providers.ReadDataSourceRequest{Addr: addrs.Resource{Mode: addrs.Data, Type: "aws_nothing", Name: "x"}})
	if !strings.Contains(diagText(ds.Diagnostics), "has no data source aws_nothing") {
		t.Errorf("ReadDataSource: %q", diagText(ds.Diagnostics))
	}
	if got := w.counts.String(); got != "" {
		t.Errorf("API calls = %s, want none", got)
	}
}
