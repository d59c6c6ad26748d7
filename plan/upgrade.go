package plan

import (
	"strings"

	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
)

// PackageMove is one locked package version that -upgrade moves: Before
// is the version the lock pins, After the one the host's package lists
// offer, which apply -upgrade installs and records.
type PackageMove struct {
	Name   string `json:"name"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// probedUpgrades collects, by layer address, the layers of p whose hosts
// were probed with -upgrade.
func probedUpgrades(p *Plan) map[string]*LayerChange {
	out := map[string]*LayerChange{}
	for _, ch := range p.Changes {
		for _, lc := range ch.Layers {
			if lc.Upgrade != nil {
				out[lc.Addr.String()] = lc
			}
		}
	}
	return out
}

// upgradedVersion is the version of package name that the lock holds
// after apply -upgrade, given what the probe found: the candidate when the
// layer installs or upgrades it, else the version the host has (the
// candidate already, or one the lists no longer offer). A package the
// probe did not ask about (the configuration now pins its version or no
// longer has it) keeps its locked version.
func upgradedVersion(uf *providers.UpgradeFacts, name, locked string) string {
	cand, asked := uf.Candidates[name]
	have := uf.Installed[name]
	switch {
	case !asked:
		return locked
	case have != "":
		if cand != "" {
			return cand // installed already, or upgraded to it
		}
		return have
	case cand != "":
		return cand // the layer installs it
	}
	return locked
}

// packageMoves compares the versions the lock pins for layer key with those
// it will hold after apply -upgrade (upgradedVersion). A layer that does not
// run has nothing to report them after the apply, so the moves go into the
// plan's lock (p.Lock), which the apply starts from (ApplyLock).
func packageMoves(p *Plan, layer *LayerChange, locked map[string]string) *LockChange {
	uf := layer.Upgrade
	key := layer.Addr.String()
	lc := &LockChange{Kind: "layer", Key: key, Action: NoOp, Reason: upgradeReason(uf)}
	var before, after []string
	next := map[string]string{}
	for _, n := range sortedKeys(locked) {
		v := locked[n]
		before = append(before, n+" "+v)
		to := upgradedVersion(uf, n, v)
		next[n] = to
		after = append(after, n+" "+to)
		if to != v {
			lc.Packages = append(lc.Packages, PackageMove{Name: n, Before: v, After: to})
		} else {
			lc.Unchanged++
		}
	}
	if len(lc.Packages) > 0 && layer.Action == NoOp && p.Lock != nil {
		p.Lock.Layers[key] = &lockfile.LayerPackages{Addr: key, Packages: next}
	}
	if len(lc.Packages) > 0 {
		lc.Action = Update
		lc.Before, lc.After = strings.Join(before, ", "), strings.Join(after, ", ")
	}
	return lc
}

// upgradeReason says where the new versions come from: a plan never runs
// apt-get update, so they are as fresh as the host's package lists.
func upgradeReason(uf *providers.UpgradeFacts) string {
	s := "-upgrade: the versions the host's package lists offer, as of its last apt-get update"
	if !uf.ListsDate.IsZero() {
		s += ", lists dated " + uf.ListsDate.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}
