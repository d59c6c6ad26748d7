package plan

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

var datedImageSchema = &schema.Resource{
	Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"name":          {Type: cty.String, Required: true},
		"id":            {Type: cty.String, Computed: true},
		"creation_date": {Type: cty.String, Computed: true},
		"region":        {Type: cty.String, Computed: true},
	}},
	IDAttr: "id",
}

// releasingProvider is the fake cloud whose image of each name gets newer
// builds: it answers the latest build, "img-NAME-BUILD", dated by build.
type releasingProvider struct {
	*fakeProvider
	build  int
	region string
}

func (f *releasingProvider) Schemas() schema.Schemas {
	s := f.fakeProvider.Schemas()
	s.DataSources = map[string]*schema.Resource{"fake_image": datedImageSchema}
	return s
}

func (f *releasingProvider) ReadDataSource(_ context.Context, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	name := req.Config.GetAttr("name").AsString()
	b := string(rune('0' + f.build))
	return providers.ReadDataSourceResponse{State: cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(name), "id": cty.StringVal("img-" + name + "-" + b),
		"creation_date": cty.StringVal("2026-1" + b + "-01T00:00:00.000Z"), "region": cty.StringVal(f.region),
	})}
}

// TestLockedDataSource: the plan uses the locked image while its entry fits
// the configuration and only notes a newer one; -upgrade, a changed name or
// region re-resolve it; the apply records it only when what is built from it
// succeeded.
func TestLockedDataSource(t *testing.T) {
	const src = `
variable "image" { default = "jammy" }
data "fake_image" "base" { name = var.image }
resource "fake_thing" "a" {
  name = "a"
  ref  = data.fake_image.base.id
}
`
	h := newHarness(t)
	rp := &releasingProvider{fakeProvider: h.fake, build: 1, region: "eu-west-1"}
	lock := lockfile.New()
	engine := func(upgrade bool, vars ...string) *Engine {
		reg := providers.Registry{"fake": rp}
		schemas := reg.Schemas(nil)
		cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas, Vars: vars})
		if diags.HasErrors() {
			t.Fatalf("config: %s", diags.Error())
		}
		return &Engine{Config: cfg, Providers: reg, Schemas: schemas, Lock: lock, Upgrade: upgrade}
	}
	apply := func(e *Engine, p *Plan, ref *Refreshed) *lockfile.Lock {
		t.Helper()
		next := lock.Clone()
		ctx := context.Background()
		e.Apply(ctx, ctx, p, ref.State, ApplyOptions{Lock: next, Persist: func(s *state.State) error {
			h.st = s.DeepCopy()
			return nil
		}})
		return next
	}
	a := addrs.Resource{Mode: addrs.Managed, Type: "fake_thing", Name: "a"}
	ref := func(p *Plan) string { return p.Change(a).After.GetAttr("ref").AsString() }
	lockedID := func(l *lockfile.Lock) string {
		return l.Data["data.fake_image.base"].Attrs["id"].AsString()
	}

	// No lock yet: the fresh image, and a new entry.
	e := engine(false)
	p, r := h.plan(e, PlanOptions{})
	if len(p.LockChanges) != 1 || p.LockChanges[0].Action != Create || ref(p) != "img-jammy-1" {
		t.Fatalf("first plan: lock changes %+v, ref %s", p.LockChanges, ref(p))
	}
	lock = apply(e, p, r)
	if lockedID(lock) != "img-jammy-1" {
		t.Fatalf("lock after apply: %s", lock.Bytes())
	}

	// A newer build: kept out, noted, no change.
	rp.build = 2
	p, _ = h.plan(engine(false), PlanOptions{})
	if p.HasChanges() || ref(p) != "img-jammy-1" || len(p.LockChanges) != 0 {
		t.Fatalf("plan with a newer build: changes %v, ref %s, lock changes %+v", actions(p), ref(p), p.LockChanges)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "newer result available: img-jammy-2 of 2026-12-01T00:00:00.000Z; the lock file keeps img-jammy-1") {
		t.Errorf("notes: %q", p.Notes)
	}

	// -upgrade moves to it and says so.
	p, r = h.plan(engine(true), PlanOptions{})
	if ref(p) != "img-jammy-2" || p.Change(a).Action != Replace && p.Change(a).Action != Update || len(p.LockChanges) != 1 ||
		p.LockChanges[0].Before != "img-jammy-1 of 2026-11-01T00:00:00.000Z" || p.LockChanges[0].After != "img-jammy-2 of 2026-12-01T00:00:00.000Z" {
		t.Fatalf("upgrade plan: ref %s, action %s, lock changes %+v", ref(p), p.Change(a).Action.Verb(), p.LockChanges)
	}
	// An apply whose change built from the new image fails keeps the old entry.
	h.fake.failOn["update a"] = true
	h.fake.failOn["create a"] = true
	if got := lockedID(apply(engine(true), p, r)); got != "img-jammy-1" {
		t.Errorf("after a failed upgrade the lock names %s", got)
	}
	h.fake.failOn = map[string]bool{}

	// A changed name no longer fits the entry: re-resolved and shown.
	p, _ = h.plan(engine(false, "image=noble"), PlanOptions{})
	if ref(p) != "img-noble-2" || len(p.LockChanges) != 1 || !strings.Contains(p.LockChanges[0].Reason, "no longer fits the configuration: name changed") {
		t.Errorf("changed name: ref %s, lock changes %+v", ref(p), p.LockChanges)
	}
	// So does another region.
	rp.region = "us-east-1"
	p, _ = h.plan(engine(false), PlanOptions{})
	if ref(p) != "img-jammy-2" || len(p.LockChanges) != 1 || !strings.Contains(p.LockChanges[0].Reason, "region changed") {
		t.Errorf("changed region: ref %s, lock changes %+v", ref(p), p.LockChanges)
	}
}

// TestPlanFileKeepsLockData: a saved plan keeps -upgrade (apply of the
// file re-resolves as the plan did), its notes and its lock changes.
func TestPlanFileKeepsLockData(t *testing.T) {
	p := &Plan{Upgrade: true, Notes: []string{"newer image"}, Variables: map[string]cty.Value{},
		LockChanges: []*LockChange{{Kind: "data", Key: "data.aws_ami.u", Action: Update, Before: "ami-1", After: "ami-2", Reason: "-upgrade",
			Packages: []PackageMove{{Name: "jq", Before: "1.0", After: "2.0"}}, Unchanged: 1}}}
	got := savedAndRead(t, p)
	if !got.Upgrade || len(got.Notes) != 1 || len(got.LockChanges) != 1 || !reflect.DeepEqual(got.LockChanges[0], p.LockChanges[0]) {
		t.Errorf("round trip: upgrade %v, notes %q, lock changes %+v", got.Upgrade, got.Notes, got.LockChanges)
	}
}

// TestStateSeedsTheLock: a stack applied before it had a lock file keeps
// the image its last apply recorded in the state, rather than moving to a
// newer one at the first plan that knows about locks.
func TestStateSeedsTheLock(t *testing.T) {
	const src = `
data "fake_image" "base" { name = "jammy" }
resource "fake_thing" "a" {
  name = "a"
  ref  = data.fake_image.base.id
}
`
	h := newHarness(t)
	rp := &releasingProvider{fakeProvider: h.fake, build: 1, region: "eu-west-1"}
	engine := func(lock *lockfile.Lock, upgrade bool) *Engine {
		reg := providers.Registry{"fake": rp}
		schemas := reg.Schemas(nil)
		cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas})
		if diags.HasErrors() {
			t.Fatalf("config: %s", diags.Error())
		}
		return &Engine{Config: cfg, Providers: reg, Schemas: schemas, Lock: lock, Upgrade: upgrade}
	}
	e := engine(nil, false) // an mlops without lock files
	p, r := h.plan(e, PlanOptions{})
	if d := h.apply(e, p, r); d.HasErrors() {
		t.Fatal(d.Error())
	}
	rp.build = 2
	p, _ = h.plan(engine(lockfile.New(), false), PlanOptions{})
	a := p.Change(addrs.Resource{Mode: addrs.Managed, Type: "fake_thing", Name: "a"})
	if p.HasChanges() || a.After.GetAttr("ref").AsString() != "img-jammy-1" || len(p.Notes) != 1 ||
		len(p.LockChanges) != 1 || p.LockChanges[0].Reason != "as the last apply recorded it in the state" {
		t.Errorf("plan: changes %v, ref %s, notes %q, lock changes %+v", actions(p), a.After.GetAttr("ref").AsString(), p.Notes, p.LockChanges)
	}
	if got := p.Lock.Data["data.fake_image.base"].Attrs["id"].AsString(); got != "img-jammy-1" {
		t.Errorf("the plan's lock names %s", got)
	}
	// -upgrade does not take it.
	p, _ = h.plan(engine(lockfile.New(), true), PlanOptions{})
	if a := p.Change(addrs.Resource{Mode: addrs.Managed, Type: "fake_thing", Name: "a"}); a.After.GetAttr("ref").AsString() != "img-jammy-2" {
		t.Errorf("-upgrade kept %s", a.After.GetAttr("ref").AsString())
	}
}
