package views

import (
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// renderLoses says under a guarded replacement what it destroys, and
// whether apply will carry it out (the resource was named with -replace)
// or refuse it.
func renderLoses(lw *lineWriter, p *plan.Plan, ch *plan.Change) {
	if ch.Loses == "" || ch.Action != plan.Replace {
		return
	}
	s := lw.streams
	if isNamed(p, ch) {
		lw.line("    %s", s.color(yellow, "# Warning: "+ch.Loses+"."))
		lw.line("    %s", s.color(yellow, "# Named with -replace="+ch.Addr.String()+": apply will replace it."))
		return
	}
	lw.line("    %s", s.color(red+";"+bold, "# Warning: "+ch.Loses+"."))
	lw.line("    %s", s.color(red+";"+bold, "# apply refuses this unless you name it: mlops apply -replace="+ch.Addr.String()))
}

func isNamed(p *plan.Plan, ch *plan.Change) bool {
	for _, a := range p.Replace {
		if a == ch.Addr {
			return true
		}
	}
	return false
}

// jsonGuard is a replacement of a converged machine in the JSON plan.
type jsonGuard struct {
	// Loses says what the replacement destroys.
	Loses string `json:"loses"`
	// Named: the resource was named with -replace, so apply carries it
	// out; otherwise apply refuses the plan.
	Named bool `json:"named"`
}

func guardJSON(p *plan.Plan, ch *plan.Change) *jsonGuard {
	if ch.Loses == "" || ch.Action != plan.Replace {
		return nil
	}
	return &jsonGuard{Loses: ch.Loses, Named: isNamed(p, ch)}
}

// inPlaceBlock reports whether a single nested block is present before and
// after an update (or a replacement of an existing object), so that its
// diff is drawn attribute by attribute.
func inPlaceBlock(nb *schema.NestedBlock, before, after, object cty.Value, action plan.Action) bool {
	if nb.Nesting != schema.NestingSingle || action == plan.Create || action == plan.Delete {
		return false
	}
	if action == plan.Replace && (object == cty.NilVal || object.IsNull()) {
		return false
	}
	return before.IsKnown() && after.IsKnown() && !before.IsNull() && !after.IsNull()
}
