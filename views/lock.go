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
}

func lockChangesJSON(p *plan.Plan) []jsonLockChange {
	var out []jsonLockChange
	for _, lc := range p.LockChanges {
		out = append(out, jsonLockChange{Kind: lc.Kind, Key: lc.Key, Action: lc.Action.Verb(), Before: lc.Before, After: lc.After, Reason: lc.Reason})
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
	added := 0
	for _, lc := range p.LockChanges {
		if lc.Action == plan.Create {
			added++
			continue
		}
		changed = append(changed, lc)
	}
	if len(changed) > 0 {
		lw.line("")
		lw.line("Changes to the lock file (%s):", lockfile.FileName)
		for _, lc := range changed {
			lw.line("  %s %s %s (%s)", lw.symbol(lc.Action), lc.Kind, lc.Key, lc.Reason)
			if lc.Before != "" {
				lw.line("      %s", lc.Before)
			}
			lw.line("   -> %s", lc.After)
		}
	}
	if added > 0 {
		lw.line("")
		lw.line("%s will record %d new %s.", lockfile.FileName, added, plural(added, "entry", "entries"))
	}
	io.WriteString(w, lw.b.String())
}
