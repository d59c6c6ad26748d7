package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// forEachThings: one thing per member, and a thing that refers to all of
// them, so it must come after every instance.
const forEachThings = `
variable "team" {
  type    = list(string)
  default = ["alice", "bob", "carol"]
}
resource "fake_thing" "box" {
  for_each = toset(var.team)
  name     = "box-${each.key}"
}
resource "fake_thing" "index" {
  name = "index"
  ref  = join(",", [for k, b in fake_thing.box : b.id])
}
resource "fake_thing" "n" {
  count = 2
  name  = "n${count.index}"
  ref   = fake_thing.box["bob"].id
}
`

func TestPlanForEachAddAndRemoveOneMember(t *testing.T) {
	h := newHarness(t)
	e := h.engine(forEachThings)
	p, ref := h.plan(e, PlanOptions{})
	want := map[string]string{`fake_thing.box["alice"]`: "create", `fake_thing.box["bob"]`: "create", `fake_thing.box["carol"]`: "create",
		"fake_thing.index": "create", "fake_thing.n[0]": "create", "fake_thing.n[1]": "create"}
	if d := cmp.Diff(want, actions(p)); d != "" {
		t.Fatal(d)
	}
	if d := h.apply(e, p, ref); d.HasErrors() {
		t.Fatal(d.Error())
	}
	// index refers to the whole resource: it is created after all boxes.
	for i, c := range h.fake.calls {
		if c == "create index" {
			for _, later := range h.fake.calls[i:] {
				if strings.HasPrefix(later, "create box-") {
					t.Errorf("index created before %s: %v", later, h.fake.calls)
				}
			}
		}
	}
	if r := h.st.Resource(`fake_thing.box["bob"]`); r == nil || r.Key.Str() != "bob" {
		t.Fatalf("state of bob's box: %+v", r)
	}
	if r := h.st.Resource("fake_thing.n[1]"); r == nil || r.Key.Int() != 1 || !r.Key.IsInt() {
		t.Fatalf("state of n[1]: %+v", r)
	}

	// A member joins: exactly one box, and the index that lists them.
	e = h.engine(forEachThings, `team=["alice","bob","carol","dave"]`)
	p, _ = h.plan(e, PlanOptions{})
	if d := cmp.Diff(map[string]string{`fake_thing.box["dave"]`: "create", "fake_thing.index": "update"}, changed(p)); d != "" {
		t.Errorf("dave joins (-want +got):\n%s", d)
	}

	// A member leaves: exactly their box is destroyed, with the reason.
	e = h.engine(forEachThings, `team=["alice","bob"]`)
	p, _ = h.plan(e, PlanOptions{})
	if d := cmp.Diff(map[string]string{`fake_thing.box["carol"]`: "delete", "fake_thing.index": "update"}, changed(p)); d != "" {
		t.Errorf("carol leaves (-want +got):\n%s", d)
	}
	if ch := p.Change(ra(`fake_thing.box["carol"]`)); ch == nil || !cmp.Equal(ch.Reasons, []string{`its key "carol" is no longer in for_each`}) {
		t.Errorf("carol's change: %+v", ch)
	}
}

func changed(p *Plan) map[string]string {
	out := map[string]string{}
	for k, v := range actions(p) {
		if v != "no-op" {
			out[k] = v
		}
	}
	return out
}
