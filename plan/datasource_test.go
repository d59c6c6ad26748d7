package plan

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

var imageSchema = &schema.Resource{
	Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"name": {Type: cty.String, Required: true},
		"id":   {Type: cty.String, Computed: true},
	}},
	IDAttr: "id",
}

// readingProvider is the fake cloud with a data source, fake_image, whose
// id is "img-" + name. Its Refresh waits (up to wait) for a data source
// read to start, and says whether one did.
type readingProvider struct {
	*fakeProvider
	wait time.Duration

	mu          sync.Mutex
	reads       []string // names read
	readStarted chan struct{}
	overlapped  bool // a read started while Refresh ran
}

func (f *readingProvider) Schemas() schema.Schemas {
	s := f.fakeProvider.Schemas()
	s.DataSources = map[string]*schema.Resource{"fake_image": imageSchema}
	return s
}

func (f *readingProvider) ReadDataSource(_ context.Context, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	name := req.Config.GetAttr("name").AsString()
	f.mu.Lock()
	f.reads = append(f.reads, name)
	if len(f.reads) == 1 {
		close(f.readStarted)
	}
	f.mu.Unlock()
	return providers.ReadDataSourceResponse{State: cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "id": cty.StringVal("img-" + name),
	})}
}

func (f *readingProvider) Refresh(ctx context.Context, req providers.RefreshRequest) providers.RefreshResponse {
	select {
	case <-f.readStarted:
		f.mu.Lock()
		f.overlapped = true
		f.mu.Unlock()
	case <-time.After(f.wait):
	}
	return f.fakeProvider.Refresh(ctx, req)
}

// TestDataSourcesReadDuringRefresh: a data source whose configuration needs
// no resource is read while the refresh runs, once, and the plan uses what
// it read; one that refers to a resource is read by the plan, after it.
func TestDataSourcesReadDuringRefresh(t *testing.T) {
	const src = `
variable "image" { default = "jammy" }
data "fake_image" "base" { name = var.image }
resource "fake_thing" "a" {
  name = "a"
  ref  = data.fake_image.base.id
}
data "fake_image" "derived" { name = fake_thing.a.name }
resource "fake_thing" "b" {
  name = "b"
  ref  = data.fake_image.derived.id
}
`
	h := newHarness(t)
	rp := &readingProvider{fakeProvider: h.fake}
	engine := func(wait time.Duration, vars ...string) *Engine {
		rp.wait, rp.reads, rp.overlapped, rp.readStarted = wait, nil, false, make(chan struct{})
		reg := providers.Registry{"fake": rp}
		schemas := reg.Schemas(nil)
		cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas, Vars: vars})
		if diags.HasErrors() {
			t.Fatalf("config: %s", diags.Error())
		}
		return &Engine{Config: cfg, Providers: reg, Schemas: schemas}
	}
	// Nothing recorded yet: nothing to refresh, the plan reads both.
	e := engine(0)
	p, ref := h.plan(e, PlanOptions{})
	if len(rp.reads) != 2 || rp.overlapped {
		t.Fatalf("first plan: reads %q, overlapped %v; want 2 reads in the plan", rp.reads, rp.overlapped)
	}
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}

	p, _ = h.plan(engine(10*time.Second), PlanOptions{})
	if !rp.overlapped {
		t.Error("the data source of variables only was not read during the refresh")
	}
	if want := []string{"jammy", "a"}; len(rp.reads) != 2 || rp.reads[0] != want[0] || rp.reads[1] != want[1] {
		t.Errorf("reads = %q, want %q (each once, the derived one after the refresh)", rp.reads, want)
	}
	if p.HasChanges() {
		t.Errorf("no-op plan has changes: %v", actions(p))
	}

	// A changed variable: the prefetched answer is the one for the new value.
	p, _ = h.plan(engine(10*time.Second, "image=noble"), PlanOptions{})
	a := p.Change(addrs.Resource{Mode: addrs.Managed, Type: "fake_thing", Name: "a"})
	if got := a.After.GetAttr("ref"); !got.RawEquals(cty.StringVal("img-noble")) || a.Action != Update || len(rp.reads) != 2 {
		t.Errorf("a.ref = %#v (%s), reads %q", got, a.Action.Verb(), rp.reads)
	}

	// Without refresh, the plan reads the data sources itself.
	e = engine(0)
	if d := e.ConfigureProviders(context.Background(), h.st); d.HasErrors() {
		t.Fatal(d.Error())
	}
	ref, d := e.Refresh(context.Background(), h.st, RefreshOptions{Skip: true})
	if d.HasErrors() || len(rp.reads) != 0 {
		t.Fatalf("Refresh(skip) read %q: %v", rp.reads, d)
	}
	if _, d := e.Plan(context.Background(), ref, PlanOptions{}); d.HasErrors() || len(rp.reads) != 2 {
		t.Errorf("plan without refresh: reads %q, %v", rp.reads, d)
	}

	// A destroy plan needs no data source: none is read.
	e = engine(0)
	rp.reads = nil
	if d := e.ConfigureProviders(context.Background(), h.st); d.HasErrors() {
		t.Fatal(d.Error())
	}
	ref, d = e.Refresh(context.Background(), h.st, RefreshOptions{Destroy: true})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if _, d := e.Plan(context.Background(), ref, PlanOptions{Destroy: true}); d.HasErrors() || len(rp.reads) != 0 {
		t.Errorf("destroy plan read data sources %q: %v", rp.reads, d)
	}
}
