package plan

import (
	"strings"

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

// probedUpgrades collects, by layer address, what probes with -upgrade
// found on the hosts of p.
func probedUpgrades(p *Plan) map[string]*providers.UpgradeFacts {
	out := map[string]*providers.UpgradeFacts{}
	for _, ch := range p.Changes {
		for _, lc := range ch.Layers {
			if lc.Upgrade != nil {
				out[lc.Addr.String()] = lc.Upgrade
			}
		}
	}
	return out
}

// packageMoves compares the versions the lock pins for layer key with the
// candidates its host's package lists offer. A package the probe did not
// ask about (the configuration now pins its version or no longer has it)
// or that the lists do not offer stays as it is.
func packageMoves(key string, locked map[string]string, uf *providers.UpgradeFacts) *LockChange {
	lc := &LockChange{Kind: "layer", Key: key, Action: NoOp, Reason: upgradeReason(uf)}
	var before, after []string
	for _, n := range sortedKeys(locked) {
		v := locked[n]
		before = append(before, n+" "+v)
		if c := uf.Candidates[n]; c != "" && c != v {
			lc.Packages = append(lc.Packages, PackageMove{Name: n, Before: v, After: c})
			after = append(after, n+" "+c)
			continue
		}
		lc.Unchanged++
		after = append(after, n+" "+v)
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
