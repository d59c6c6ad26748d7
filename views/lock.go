package views

import (
	"io"

	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/plan"
)

// jsonLockChange is one entry of "lock_changes" in the plan document.
type jsonLockChange struct {
	Kind   string `json:"kind"` // data | download | layer
	Key    string `json:"key"`  // data source address, URL, layer address
	Action string `json:"action"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Packages and Unchanged: a layer that -upgrade re-resolved on its host.
	Packages  []plan.PackageMove `json:"packages,omitempty"`
	Unchanged int                `json:"unchanged,omitempty"`
}

func lockChangesJSON(p *plan.Plan) []jsonLockChange {
	var out []jsonLockChange
	for _, lc := range p.LockChanges {
		out = append(out, jsonLockChange{Kind: lc.Kind, Key: lc.Key, Action: lc.Action.Verb(), Before: lc.Before, After: lc.After, Reason: lc.Reason,
			Packages: lc.Packages, Unchanged: lc.Unchanged})
	}
	return out
}

// RenderPlanLock writes, after a plan, its notes (a newer image than the
// locked one) and the changes it makes to the lock file. Entries the lock
// gets for the first time are only counted: they pin what the plan shows.
func RenderPlanLock(w io.Writer, s *Streams, p *plan.Plan) {
	lw := &lineWriter{streams: s}
	for _, n := range p.Notes {
		lw.line("")
		lw.line("%s %s.", s.color(yellow, "Note:"), n)
	}
	var changed []*plan.LockChange
	added, unchanged := 0, 0
	for _, lc := range p.LockChanges {
		switch lc.Action {
		case plan.Create:
			added++
		case plan.NoOp:
			unchanged += lc.Unchanged
		default:
			unchanged += lc.Unchanged
			changed = append(changed, lc)
		}
	}
	if len(changed) > 0 {
		lw.line("")
		lw.line("Changes to the lock file (%s):", lockfile.FileName)
		for _, lc := range changed {
			if len(lc.Packages) > 0 {
				renderPackageMoves(lw, lc)
				continue
			}
			lw.line("  %s %s %s (%s)", lw.symbol(lc.Action), lc.Kind, lc.Key, lc.Reason)
			if lc.Before != "" {
				lw.line("      %s", lc.Before)
			}
			lw.line("   -> %s", lc.After)
		}
	}
	if unchanged > 0 {
		lw.line("")
		lw.line("-upgrade leaves %d locked package %s unchanged: the host's package lists offer the locked %s.",
			unchanged, plural(unchanged, "version", "versions"), plural(unchanged, "version", "versions"))
	}
	if added > 0 {
		lw.line("")
		lw.line("%s will record %d new %s.", lockfile.FileName, added, plural(added, "entry", "entries"))
	}
	io.WriteString(w, lw.b.String())
}

// renderPackageMoves writes the package versions -upgrade moves in one
// layer's lock entry, one line each, then where the new versions come from.
func renderPackageMoves(lw *lineWriter, lc *plan.LockChange) {
	for _, m := range lc.Packages {
		lw.line("  %s %s %s: %s %s -> %s", lw.symbol(lc.Action), lc.Kind, lc.Key, m.Name, m.Before, m.After)
	}
	lw.line("      (%s)", lc.Reason)
}
