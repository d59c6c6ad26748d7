package plan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// fakeProvider is an in-memory cloud: objects by id, a log of calls.
type fakeProvider struct {
	mu      sync.Mutex
	objects map[string]cty.Value
	nextID  int
	calls   []string
	failOn  map[string]bool // "create NAME" or "update NAME" fails
}

var thingSchema = &schema.Resource{
	Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"name": {Type: cty.String, Required: true, ForceNew: true},
		"size": {Type: cty.Number, Optional: true},
		"ref":  {Type: cty.String, Optional: true},
		"id":   {Type: cty.String, Computed: true},
	}},
	IDAttr: "id",
}

func newFake() *fakeProvider {
	return &fakeProvider{objects: map[string]cty.Value{}, failOn: map[string]bool{}}
}

func (f *fakeProvider) log(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeProvider) Schemas() schema.Schemas {
	return schema.Schemas{Provider: map[string]*schema.Block{"fake": {}}, Resources: map[string]*schema.Resource{"fake_thing": thingSchema}}
}
func (f *fakeProvider) Configure(context.Context, providers.ConfigureRequest) providers.ConfigureResponse {
	return providers.ConfigureResponse{}
}
func (f *fakeProvider) ReadDataSource(context.Context, providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	return providers.ReadDataSourceResponse{}
}
func (f *fakeProvider) Refresh(_ context.Context, req providers.RefreshRequest) providers.RefreshResponse {
	f.log(fmt.Sprintf("refresh %d", len(req.Resources)))
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]cty.Value, len(req.Resources))
	for i, r := range req.Resources {
		id := r.State.GetAttr("id").AsString()
		if v, ok := f.objects[id]; ok {
			out[i] = v
		} else {
			out[i] = cty.NullVal(thingSchema.ImpliedType())
		}
	}
	return providers.RefreshResponse{States: out}
}
func (f *fakeProvider) PlanChange(_ context.Context, req providers.PlanChangeRequest) providers.PlanChangeResponse {
	attrs := req.Config.AsValueMap()
	if req.Prior.IsNull() {
		attrs["id"] = cty.UnknownVal(cty.String)
		return providers.PlanChangeResponse{Planned: cty.ObjectVal(attrs)}
	}
	attrs["id"] = req.Prior.GetAttr("id")
	resp := providers.PlanChangeResponse{Planned: cty.ObjectVal(attrs)}
	if !req.Prior.GetAttr("name").RawEquals(req.Config.GetAttr("name")) {
		resp.RequiresReplace = []cty.Path{cty.GetAttrPath("name")}
		attrs["id"] = cty.UnknownVal(cty.String)
		resp.Planned = cty.ObjectVal(attrs)
	}
	return resp
}
func (f *fakeProvider) ApplyChange(_ context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case req.Planned.IsNull():
		id := req.Prior.GetAttr("id").AsString()
		f.calls = append(f.calls, "delete "+req.Prior.GetAttr("name").AsString())
		delete(f.objects, id)
		return providers.ApplyChangeResponse{NewState: cty.NullVal(thingSchema.ImpliedType())}
	case req.Prior.IsNull():
		name := req.Config.GetAttr("name").AsString()
		f.calls = append(f.calls, "create "+name)
		if req.Tags["mlops:address"] != req.Addr.String() {
			panic("missing address tag")
		}
		if f.failOn["create "+name] {
			return providers.ApplyChangeResponse{NewState: cty.NullVal(thingSchema.ImpliedType()), Diagnostics: providers.ErrorDiag("Create failed", "injected")}
		}
		f.nextID++
		attrs := req.Config.AsValueMap()
		attrs["id"] = cty.StringVal(fmt.Sprintf("t-%d", f.nextID))
		v := cty.ObjectVal(attrs)
		f.objects[attrs["id"].AsString()] = v
		if req.Created != nil {
			f.mu.Unlock()
			req.Created(v)
			f.mu.Lock()
		}
		return providers.ApplyChangeResponse{NewState: v}
	default:
		f.calls = append(f.calls, "update "+req.Config.GetAttr("name").AsString())
		if f.failOn["update "+req.Config.GetAttr("name").AsString()] {
			return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: providers.ErrorDiag("Update failed", "injected")}
		}
		attrs := req.Config.AsValueMap()
		attrs["id"] = req.Prior.GetAttr("id")
		v := cty.ObjectVal(attrs)
		f.objects[attrs["id"].AsString()] = v
		return providers.ApplyChangeResponse{NewState: v}
	}
}
func (f *fakeProvider) Import(context.Context, providers.ImportRequest) providers.ImportResponse {
	return providers.ImportResponse{}
}

type harness struct {
	t      *testing.T
	fake   *fakeProvider
	st     *state.State
	writes int
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, fake: newFake(), st: state.New("lineage-1")}
}

func (h *harness) engine(src string, vars ...string) *Engine {
	h.t.Helper()
	reg := providers.Registry{"fake": h.fake}
	schemas := reg.Schemas(nil)
	cfg, diags := config.LoadFiles(h.t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas, Vars: vars})
	if diags.HasErrors() {
		h.t.Fatalf("config: %s", diags.Error())
	}
	return &Engine{Config: cfg, Providers: reg, Schemas: schemas}
}

// plan refreshes and plans.
func (h *harness) plan(e *Engine, opts PlanOptions) (*Plan, *Refreshed) {
	h.t.Helper()
	ctx := context.Background()
	if d := e.ConfigureProviders(ctx, h.st); d.HasErrors() {
		h.t.Fatal(d.Error())
	}
	ref, d := e.Refresh(ctx, h.st, RefreshOptions{Destroy: opts.Destroy})
	if d.HasErrors() {
		h.t.Fatal(d.Error())
	}
	p, d := e.Plan(ctx, ref, opts)
	if d.HasErrors() {
		h.t.Fatal(d.Error())
	}
	return p, ref
}

func (h *harness) apply(e *Engine, p *Plan, ref *Refreshed) hcl.Diagnostics {
	ctx := context.Background()
	d := e.Apply(ctx, ctx, p, ref.State, ApplyOptions{Persist: func(s *state.State) error {
		h.writes++
		h.st = s.DeepCopy()
		return nil
	}})
	return d
}

func actions(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		out[c.Addr.String()] = c.Action.Verb()
	}
	return out
}

const twoThings = `
variable "size" { default = 1 }
variable "bname" { default = "b" }
resource "fake_thing" "a" {
  name = "a"
  size = var.size
}
resource "fake_thing" "b" {
  name = var.bname
  ref  = fake_thing.a.id
}
`

func TestPlanApplyLifecycle(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, ref := h.plan(e, PlanOptions{})
	if d := cmp.Diff(map[string]string{"fake_thing.a": "create", "fake_thing.b": "create"}, actions(p)); d != "" {
		t.Fatal(d)
	}
	// b refers to a's id, unknown until a exists.
	if b := p.Change(ra("fake_thing.b")); b.After.GetAttr("ref").IsKnown() {
		t.Errorf("b.ref should be unknown in the plan")
	}
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}
	// a is created before b, and b got a's real id.
	if d := cmp.Diff([]string{"create a", "create b"}, h.fake.calls); d != "" {
		t.Fatalf("calls (-want +got):\n%s", d)
	}
	if got := h.st.Resource("fake_thing.b"); got == nil || !strings.Contains(string(got.Attributes), `"ref":"t-1"`) {
		t.Fatalf("state of b = %+v", got)
	}
	if h.writes < 2 {
		t.Errorf("state written %d times, want one per operation", h.writes)
	}

	// No changes: one batched refresh, nothing planned.
	h.fake.calls = nil
	p, _ = h.plan(h.engine(twoThings), PlanOptions{})
	if p.HasChanges() {
		t.Fatalf("second plan has changes: %v", actions(p))
	}
	if d := cmp.Diff([]string{"refresh 2"}, h.fake.calls); d != "" {
		t.Fatalf("refresh calls (-want +got):\n%s", d)
	}

	// In-place update, then a replacement with its reason.
	p, _ = h.plan(h.engine(twoThings, "size=3"), PlanOptions{})
	if d := cmp.Diff(map[string]string{"fake_thing.a": "update", "fake_thing.b": "no-op"}, actions(p)); d != "" {
		t.Fatal(d)
	}
	p, _ = h.plan(h.engine(twoThings, "bname=c"), PlanOptions{})
	b := p.Change(ra("fake_thing.b"))
	if b.Action != Replace || len(b.Reasons) != 1 || b.Reasons[0] != "name forces replacement" {
		t.Fatalf("replace: %v %v", b.Action.Verb(), b.Reasons)
	}

	// Deleted outside mlops: created again, and the plan says why.
	h.fake.mu.Lock()
	delete(h.fake.objects, "t-1")
	h.fake.mu.Unlock()
	p, _ = h.plan(h.engine(twoThings), PlanOptions{})
	a := p.Change(ra("fake_thing.a"))
	if a.Action != Create || len(a.Reasons) == 0 || !strings.Contains(a.Reasons[0], "deleted outside mlops") {
		t.Fatalf("gone: %v %v", a.Action.Verb(), a.Reasons)
	}

	// Destroy deletes dependents first.
	h.fake.calls = nil
	p, ref = h.plan(h.engine(twoThings), PlanOptions{Destroy: true})
	if d := h.apply(h.engine(twoThings), p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(h.st.Resources) != 0 {
		t.Fatalf("state after destroy: %d resources", len(h.st.Resources))
	}
	want := []string{"refresh 2", "delete b"}
	if d := cmp.Diff(want, h.fake.calls); d != "" {
		t.Fatalf("destroy calls (-want +got):\n%s", d)
	}
}

func TestApplyFailureStopsDependentsAndKeepsState(t *testing.T) {
	h := newHarness(t)
	src := twoThings + `
resource "fake_thing" "c" {
  name = "c"
}
`
	h.fake.failOn["create a"] = true
	e := h.engine(src)
	p, ref := h.plan(e, PlanOptions{})
	d := h.apply(e, p, ref)
	if !d.HasErrors() {
		t.Fatal("apply reported success although a create failed")
	}
	sort.Strings(h.fake.calls)
	// b depends on a and is never attempted; c is independent and created.
	if diff := cmp.Diff([]string{"create a", "create c"}, h.fake.calls); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
	if h.st.Resource("fake_thing.c") == nil || h.st.Resource("fake_thing.a") != nil {
		t.Fatalf("state: %+v", h.st.Resources)
	}
}

func TestApplyStopsSchedulingWhenInterrupted(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, ref := h.plan(e, PlanOptions{})
	stop, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before anything started
	d := e.Apply(stop, context.Background(), p, ref.State, ApplyOptions{Persist: func(*state.State) error { return nil }})
	if !d.HasErrors() || !strings.Contains(d.Error(), "interrupted") {
		t.Fatalf("want an interrupted error, got %v", d)
	}
	if len(h.fake.calls) != 0 {
		t.Fatalf("operations started after the interrupt: %v", h.fake.calls)
	}
}

func TestPersistFailureIsReported(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, ref := h.plan(e, PlanOptions{})
	d := e.Apply(context.Background(), context.Background(), p, ref.State, ApplyOptions{Persist: func(*state.State) error { return errors.New("disk full") }})
	if !d.HasErrors() || !strings.Contains(d.Error(), "disk full") {
		t.Fatalf("a failed state write must fail the apply: %v", d)
	}
}

func TestStillApplyingTicks(t *testing.T) {
	h := newHarness(t)
	e := h.engine(`resource "fake_thing" "a" { name = "a" }`)
	rec := &recordingHooks{}
	e.Hooks = rec
	slow := &slowProvider{fakeProvider: h.fake, delay: 120 * time.Millisecond}
	e.Providers = providers.Registry{"fake": slow}
	p, ref := h.plan(e, PlanOptions{})
	ctx := context.Background()
	e.Apply(ctx, ctx, p, ref.State, ApplyOptions{TickInterval: 20 * time.Millisecond, Persist: func(*state.State) error { return nil }})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.ticks == 0 {
		t.Fatal("no StillApplying events during a slow operation")
	}
}

type slowProvider struct {
	*fakeProvider
	delay time.Duration
}

func (s *slowProvider) ApplyChange(ctx context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	time.Sleep(s.delay)
	return s.fakeProvider.ApplyChange(ctx, req)
}

type recordingHooks struct {
	NoHooks
	mu    sync.Mutex
	ticks int
}

func (r *recordingHooks) StillApplying(addrs.Resource, Action, time.Duration) {
	r.mu.Lock()
	r.ticks++
	r.mu.Unlock()
}

// savedAndRead writes p as a saved plan and reads it back.
func savedAndRead(t *testing.T, p *Plan) *Plan {
	t.Helper()
	b, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestPlanFileRoundTrip(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, _ := h.plan(e, PlanOptions{})
	got := savedAndRead(t, p)
	if d := cmp.Diff(actions(p), actions(got)); d != "" {
		t.Fatal(d)
	}
	if got.Change(ra("fake_thing.a")).After.GetAttr("id").IsKnown() {
		t.Fatal("unknown id became known in the saved plan")
	}
	if _, err := Unmarshal([]byte(`{"format":"mlops-plan","version":99}`)); err == nil {
		t.Fatal("a newer plan format must be refused")
	}
}

// TestLineageStoredBeforeFirstCreate: a state that was never stored is
// written before the first object is created, so that a crash right after
// the create call leaves the object tagged with a lineage the state knows.
func TestLineageStoredBeforeFirstCreate(t *testing.T) {
	h := newHarness(t)
	e := h.engine(`resource "fake_thing" "a" { name = "a" }`)
	p, ref := h.plan(e, PlanOptions{})
	var firstWriteSaw []string
	writes := 0
	d := e.Apply(context.Background(), context.Background(), p, ref.State, ApplyOptions{Persist: func(s *state.State) error {
		if writes == 0 {
			firstWriteSaw = append([]string{}, h.fake.calls...)
			if s.Lineage != "lineage-1" {
				t.Errorf("first write has lineage %q", s.Lineage)
			}
		}
		writes++
		s.Serial++ // as a store does
		return nil
	}})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if writes < 2 || len(firstWriteSaw) != 0 {
		t.Fatalf("first state write came after %v (%d writes); want it before any create", firstWriteSaw, writes)
	}

	// A state that is stored already is not written before the walk.
	h2 := newHarness(t)
	h2.st.Serial = 4
	e2 := h2.engine(`resource "fake_thing" "a" { name = "a" }`)
	p2, ref2 := h2.plan(e2, PlanOptions{})
	d = e2.Apply(context.Background(), context.Background(), p2, ref2.State, ApplyOptions{Persist: func(s *state.State) error {
		if len(h2.fake.calls) == 0 {
			t.Errorf("a stored state was written again before anything changed")
		}
		return nil
	}})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}

	// When that first write fails, nothing is created.
	h3 := newHarness(t)
	e3 := h3.engine(`resource "fake_thing" "a" { name = "a" }`)
	p3, ref3 := h3.plan(e3, PlanOptions{})
	d = e3.Apply(context.Background(), context.Background(), p3, ref3.State, ApplyOptions{Persist: func(*state.State) error { return errors.New("disk full") }})
	if !d.HasErrors() || len(h3.fake.calls) != 0 {
		t.Fatalf("apply went on after the first state write failed: %v, calls %v", d, h3.fake.calls)
	}
}

// TestApplyHaltsAtFirstFailedStateWrite: once a state write fails, no new
// operation starts (b depends on a and is never created), and the error
// says so.
func TestApplyHaltsAtFirstFailedStateWrite(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, ref := h.plan(e, PlanOptions{})
	writes := 0
	d := e.Apply(context.Background(), context.Background(), p, ref.State, ApplyOptions{Persist: func(*state.State) error {
		writes++
		if writes > 1 { // the lineage is stored, then the disk fills
			return errors.New("disk full")
		}
		return nil
	}})
	if !d.HasErrors() || !strings.Contains(d.Error(), "disk full") || !strings.Contains(d.Error(), "started no new operation") {
		t.Fatalf("diagnostics: %v", d)
	}
	if strings.Contains(d.Error(), "interrupted") {
		t.Errorf("a failed write is not an interrupt: %v", d)
	}
	if diff := cmp.Diff([]string{"create a"}, h.fake.calls); diff != "" {
		t.Fatalf("calls after the failed write (-want +got):\n%s", diff)
	}
}

// TestUndecodableStateOutput: a recorded output that does not decode used
// to panic the planner; it is now a warning and planned again.
func TestUndecodableStateOutput(t *testing.T) {
	h := newHarness(t)
	src := `output "o" { value = "x" }
output "gone" { value = "y" }
`
	e := h.engine(src)
	for name, out := range map[string]*state.Output{
		"o":    {Value: []byte(`"x"`), Type: []byte(`"number"`)},
		"gone": {Value: []byte(`{`), Type: []byte(`"string"`)},
		"old":  {Value: []byte(`"v"`), Type: []byte(`["nonsense"]`)},
	} {
		if h.st.Outputs == nil {
			h.st.Outputs = map[string]*state.Output{}
		}
		h.st.Outputs[name] = out
	}
	ctx := context.Background()
	ref, d := e.Refresh(ctx, h.st, RefreshOptions{})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	for _, destroy := range []bool{false, true} {
		p, d := e.Plan(ctx, ref, PlanOptions{Destroy: destroy})
		if d.HasErrors() {
			t.Fatal(d.Error())
		}
		n := 0
		for _, dg := range d {
			if dg.Summary == "Unreadable output in the state" {
				n++
			}
		}
		if n != 3 {
			t.Errorf("destroy=%v: %d warnings: %v", destroy, n, d)
		}
		if len(p.Outputs) != 3 {
			t.Errorf("destroy=%v: %d output changes", destroy, len(p.Outputs))
		}
	}
}

// TestCheckSchemasRefusesMisfitPlanValues: a saved plan whose value does
// not fit its resource's schema (a hand-edited file) is refused before it
// is rendered or applied (mlops show used to panic on it).
func TestCheckSchemasRefusesMisfitPlanValues(t *testing.T) {
	h := newHarness(t)
	e := h.engine(twoThings)
	p, _ := h.plan(e, PlanOptions{})
	if err := CheckSchemas(p, e.Schemas); err != nil {
		t.Fatalf("a fresh plan: %v", err)
	}
	back := savedAndRead(t, p)
	if err := CheckSchemas(back, e.Schemas); err != nil {
		t.Fatalf("a saved plan read back: %v", err)
	}
	back.Changes[0].After = cty.ObjectVal(map[string]cty.Value{"name": cty.True})
	err := CheckSchemas(back, e.Schemas)
	if err == nil || !strings.Contains(err.Error(), "does not fit the schema of fake_thing") {
		t.Fatalf("misfit value: %v", err)
	}
	back.Changes[0].After = cty.StringVal("x")
	if err := CheckSchemas(back, e.Schemas); err == nil {
		t.Fatal("a string as a resource value passed")
	}
}
