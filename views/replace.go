package views

import (
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// renderLoses says under a guarded replacement or deletion what it
// destroys, and whether apply will carry it out (the resource was named
// with -replace or -delete) or refuse it.
func renderLoses(lw *lineWriter, p *plan.Plan, ch *plan.Change) {
	if ch.Loses == "" { // only guarded replacements and deletions have it
		return
	}
	s := lw.streams
	flag, verb := "-replace", "replace"
	if ch.Action == plan.Delete {
		flag, verb = "-delete", "delete"
	}
	arg := flag + "=" + plan.ShellAddr(ch.Addr)
	if p.Named(ch) {
		lw.line("    %s", s.color(yellow, "# Warning: "+ch.Loses+"."))
		lw.line("    %s", s.color(yellow, "# Named with "+arg+": apply will "+verb+" it."))
		return
	}
	lw.line("    %s", s.color(red+";"+bold, "# Warning: "+ch.Loses+"."))
	lw.line("    %s", s.color(red+";"+bold, "# apply refuses this unless you name it: mlops apply "+arg))
}

// jsonGuard is a replacement or deletion of a converged machine in the
// JSON plan.
type jsonGuard struct {
	// Loses says what the replacement or deletion destroys.
	Loses string `json:"loses"`
	// Named: the resource was named with -replace (a replacement) or
	// -delete (a deletion), so apply carries it out; otherwise apply
	// refuses the plan.
	Named bool `json:"named"`
}

func guardJSON(p *plan.Plan, ch *plan.Change) *jsonGuard {
	if ch.Loses == "" {
		return nil
	}
	return &jsonGuard{Loses: ch.Loses, Named: p.Named(ch)}
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
