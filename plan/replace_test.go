package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// petProvider is the fake cloud with a second type, fake_pet, whose every
// object asks its host for a step (as an instance with a data volume
// does); its plans say what a replacement loses and honour -replace.
type petProvider struct {
	*fakeProvider
	planReqs  []providers.PlanChangeRequest
	replacing []bool // Replacing of each delete
}

var petSchema = &schema.Resource{
	Block:  schema.Block{Attributes: thingSchema.Attributes},
	IDAttr: "id",
	HostSteps: func(v cty.Value) []schema.HostStep {
		return []schema.HostStep{{Name: "disk", Kind: "disk", Config: cty.ObjectVal(map[string]cty.Value{"id": v.GetAttr("id")})}}
	},
}

func (p *petProvider) Schemas() schema.Schemas {
	s := p.fakeProvider.Schemas()
	s.Resources["fake_pet"] = petSchema
	return s
}

func (p *petProvider) PlanChange(ctx context.Context, req providers.PlanChangeRequest) providers.PlanChangeResponse {
	p.mu.Lock()
	p.planReqs = append(p.planReqs, req)
	p.mu.Unlock()
	resp := p.fakeProvider.PlanChange(ctx, req)
	if !req.Prior.IsNull() && (len(resp.RequiresReplace) > 0 || req.Replace) {
		resp.ReplaceLoses = "replacing destroys the disk of " + req.Addr.String()
	}
	return resp
}

func (p *petProvider) ApplyChange(ctx context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	if req.Planned.IsNull() {
		p.mu.Lock()
		p.replacing = append(p.replacing, req.Replacing)
		p.mu.Unlock()
	}
	return p.fakeProvider.ApplyChange(ctx, req)
}

const petAndThing = `
variable "pname" { default = "p" }
variable "tname" { default = "t" }
resource "fake_pet" "box" {
  name = var.pname
}
resource "fake_thing" "cattle" {
  name = var.tname
}
`

// TestReplacementOfConvergedHostNeedsNaming: a replacement of an object
// with host steps says what it loses and is refused unless named with
// -replace; cattle (no layers, no steps) is replaced without fuss; -replace
// forces a replacement nothing else would make.
func TestReplacementOfConvergedHostNeedsNaming(t *testing.T) {
	h := newHarness(t)
	pet := &petProvider{fakeProvider: h.fake}
	e := engineWith(t, h, pet, nil)
	p, ref := h.plan(e, PlanOptions{})
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}

	// Both names change: both are replaced, only the pet is guarded.
	e = engineWith(t, h, pet, []string{"pname=p2", "tname=t2"})
	p, _ = h.plan(e, PlanOptions{})
	box, cattle := p.Change(ra("fake_pet.box")), p.Change(ra("fake_thing.cattle"))
	if box.Action != Replace || box.Loses != "replacing destroys the disk of fake_pet.box" {
		t.Fatalf("pet: %s, loses %q", box.Action.Verb(), box.Loses)
	}
	if cattle.Action != Replace || cattle.Loses != "" {
		t.Fatalf("cattle: %s, loses %q", cattle.Action.Verb(), cattle.Loses)
	}
	d := e.CheckReplacements(p)
	if len(d) != 1 || d[0].Summary != "Replacing fake_pet.box needs -replace=fake_pet.box" || d[0].Subject == nil ||
		!strings.Contains(d[0].Detail, "name forces replacement") || !strings.Contains(d[0].Detail, "replacing destroys the disk of fake_pet.box") {
		t.Fatalf("refusal: %v", d)
	}

	// Named, it is allowed; the delete half keeps what outlives it.
	p, ref = h.plan(e, PlanOptions{Replace: []addrs.Resource{ra("fake_pet.box")}})
	if d := e.CheckReplacements(p); d.HasErrors() {
		t.Fatalf("named replacement refused: %v", d)
	}
	pet.replacing = nil
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if diff := cmp.Diff([]bool{true, true}, pet.replacing); diff != "" {
		t.Errorf("Replacing of the deletes (-want +got):\n%s", diff)
	}

	// Nothing forces a replacement: -replace does, and says so.
	e = engineWith(t, h, pet, []string{"pname=p2", "tname=t2"})
	pet.planReqs = nil
	p, _ = h.plan(e, PlanOptions{Replace: []addrs.Resource{ra("fake_pet.box")}})
	box = p.Change(ra("fake_pet.box"))
	if box.Action != Replace || len(box.Reasons) != 1 || box.Reasons[0] != ReasonReplaceRequested || box.Loses == "" {
		t.Fatalf("forced: %s %v loses %q", box.Action.Verb(), box.Reasons, box.Loses)
	}
	if c := p.Change(ra("fake_thing.cattle")); c.Action != NoOp {
		t.Fatalf("cattle not named, yet %s", c.Action.Verb())
	}
	for _, r := range pet.planReqs {
		if r.Replace != (r.Addr == ra("fake_pet.box")) {
			t.Errorf("PlanChange of %s with Replace %v", r.Addr, r.Replace)
		}
	}
	// A saved plan keeps the named addresses and what is lost.
	back := savedAndRead(t, p)
	if diff := cmp.Diff([]addrs.Resource{ra("fake_pet.box")}, back.Replace); diff != "" {
		t.Errorf("saved Replace (-want +got):\n%s", diff)
	}
	if back.Change(ra("fake_pet.box")).Loses != box.Loses || len(back.UnnamedReplacements()) != 0 {
		t.Errorf("saved plan: loses %q, unnamed %v", back.Change(ra("fake_pet.box")).Loses, back.UnnamedReplacements())
	}

	// Steps without an ssh block to carry them out: a warning.
	ref, _ = e.Refresh(context.Background(), h.st, RefreshOptions{})
	if _, d := e.Plan(context.Background(), ref, PlanOptions{}); d.HasErrors() || len(d) != 1 || d[0].Summary != "Host step without SSH" {
		t.Fatalf("steps without ssh: %v", d)
	}

	// An address that names nothing is an error.
	ref, _ = e.Refresh(context.Background(), h.st, RefreshOptions{})
	if _, d := e.Plan(context.Background(), ref, PlanOptions{Replace: []addrs.Resource{ra("fake_pet.nope")}}); !d.HasErrors() ||
		!strings.Contains(d.Error(), "-replace=fake_pet.nope names no resource") {
		t.Fatalf("unknown -replace address: %v", d)
	}
}

// engineWith loads petAndThing with the pet provider's schemas.
func engineWith(t *testing.T, h *harness, pet *petProvider, vars []string) *Engine {
	t.Helper()
	return engineWithSrc(t, h, pet, petAndThing, vars)
}

// engineWithSrc loads src with the pet provider's schemas.
func engineWithSrc(t *testing.T, h *harness, pet *petProvider, src string, vars []string) *Engine {
	t.Helper()
	reg := providers.Registry{"fake": pet}
	schemas := reg.Schemas(nil)
	cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas, Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	return &Engine{Config: cfg, Providers: reg, Schemas: schemas}
}

// TestDeletionOfConvergedHostNeedsNaming: a converged object (host steps)
// whose block is removed is planned for deletion with what it loses, and
// apply refuses it unless it is named with -delete; cattle is deleted
// without fuss; -delete must name a deletion of the plan; a destroy plan
// (the user ran mlops destroy) is not guarded; a saved plan keeps -delete.
func TestDeletionOfConvergedHostNeedsNaming(t *testing.T) {
	h := newHarness(t)
	pet := &petProvider{fakeProvider: h.fake}
	e := engineWith(t, h, pet, nil)
	p, ref := h.plan(e, PlanOptions{})
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}

	// Both blocks removed: both deleted, only the pet is guarded.
	e = engineWithSrc(t, h, pet, "", nil)
	p, _ = h.plan(e, PlanOptions{})
	box, cattle := p.Change(ra("fake_pet.box")), p.Change(ra("fake_thing.cattle"))
	if box == nil || box.Action != Delete || !strings.Contains(box.Loses, "what its host steps hold (disk)") {
		t.Fatalf("pet: %+v", box)
	}
	if cattle == nil || cattle.Action != Delete || cattle.Loses != "" {
		t.Fatalf("cattle: %+v", cattle)
	}
	d := e.CheckReplacements(p)
	if len(d) != 1 || d[0].Summary != "Deleting fake_pet.box needs -delete=fake_pet.box" ||
		!strings.Contains(d[0].Detail, "it is no longer in the configuration") || !strings.Contains(d[0].Detail, "mlops state rm fake_pet.box") {
		t.Fatalf("refusal: %v", d)
	}
	if got := p.UnnamedReplacements(); len(got) != 1 || got[0] != box {
		t.Fatalf("unnamed: %v", got)
	}

	// A destroy plan names everything.
	pd, _ := h.plan(e, PlanOptions{Destroy: true})
	if d := e.CheckReplacements(pd); d.HasErrors() {
		t.Fatalf("destroy plan refused: %v", d)
	}

	// -delete must name a deletion.
	ref, _ = e.Refresh(context.Background(), h.st, RefreshOptions{})
	if _, d := e.Plan(context.Background(), ref, PlanOptions{Deletes: []addrs.Resource{ra("fake_pet.nope")}}); !d.HasErrors() ||
		!strings.Contains(d.Error(), "-delete=fake_pet.nope names no resource this plan deletes") {
		t.Fatalf("-delete of nothing: %v", d)
	}

	// Named, it is allowed, and a saved plan keeps the name.
	p, ref = h.plan(e, PlanOptions{Deletes: []addrs.Resource{ra("fake_pet.box")}})
	if d := e.CheckReplacements(p); d.HasErrors() {
		t.Fatalf("named deletion refused: %v", d)
	}
	back := savedAndRead(t, p)
	if diff := cmp.Diff([]addrs.Resource{ra("fake_pet.box")}, back.Deletes); diff != "" {
		t.Errorf("saved Deletes (-want +got):\n%s", diff)
	}
	if back.Change(ra("fake_pet.box")).Loses != p.Change(ra("fake_pet.box")).Loses || len(back.UnnamedReplacements()) != 0 {
		t.Errorf("saved plan: unnamed %v", back.UnnamedReplacements())
	}
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if r := h.st.Resource("fake_pet.box"); r != nil {
		t.Fatalf("fake_pet.box still in state after the named deletion: %+v", r)
	}
}

func TestShellAddr(t *testing.T) {
	for in, want := range map[string]string{
		"aws_instance.box":           "aws_instance.box",
		`aws_instance.box["alice"]`:  `'aws_instance.box["alice"]'`,
		`aws_instance.box["o'neil"]`: `'aws_instance.box["o'\''neil"]'`,
		"aws_instance.box[2]":        "'aws_instance.box[2]'",
	} {
		a, err := addrs.ParseResource(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := ShellAddr(a); got != want {
			t.Errorf("ShellAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
