package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
)

// TestUpgradeLockChangesPackages: -upgrade compares each locked package
// version with the candidate its host's lists offer. A layer where some
// move is an update naming them; one where none move is a no-op that only
// counts them; a layer whose host was not probed (a new machine) keeps
// the general message. A layer that does not run, on a host upgraded
// outside mlops (unattended-upgrades), moves to what the host has, and
// the apply starts from that lock.
func TestUpgradeLockChangesPackages(t *testing.T) {
	dev := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	tools, docker, fresh := addrs.Layer{Resource: dev, Name: "tools"}, addrs.Layer{Resource: dev, Name: "docker"}, addrs.Layer{Resource: dev, Name: "fresh"}
	hand := addrs.Layer{Resource: dev, Name: "hand"}
	date := time.Date(2026, 11, 29, 6, 30, 0, 0, time.UTC)
	lock := lockfile.New()
	lock.Layers[tools.String()] = &lockfile.LayerPackages{Addr: tools.String(), Packages: map[string]string{"jq": "1.6", "make": "4.3", "pinned": "1.0"}}
	lock.Layers[docker.String()] = &lockfile.LayerPackages{Addr: docker.String(), Packages: map[string]string{"docker.io": "20.10"}}
	lock.Layers[fresh.String()] = &lockfile.LayerPackages{Addr: fresh.String(), Packages: map[string]string{"git": "2.39"}}
	lock.Layers[hand.String()] = &lockfile.LayerPackages{Addr: hand.String(), Packages: map[string]string{"curl": "7.88"}}
	p := &Plan{Upgrade: true, Lock: lock.Clone(), Changes: []*Change{{Addr: dev, Action: NoOp, Layers: []*LayerChange{
		{Addr: hand, Kind: "apt", Action: NoOp, Upgrade: &providers.UpgradeFacts{
			Candidates: map[string]string{"curl": "7.88.1"}, Installed: map[string]string{"curl": "7.88.1"}}},
		{Addr: tools, Kind: "apt", Action: Update, Upgrade: &providers.UpgradeFacts{ListsDate: date,
			Candidates: map[string]string{"jq": "1.7", "make": "4.3"}, Installed: map[string]string{"jq": "1.6", "make": "4.3"}}},
		{Addr: docker, Kind: "docker", Action: NoOp, Upgrade: &providers.UpgradeFacts{
			Candidates: map[string]string{"docker.io": ""}, Installed: map[string]string{"docker.io": "20.10"}}},
	}}}}
	(&Engine{Lock: lock, Upgrade: true}).upgradeLockChanges(p)
	reason := "-upgrade: the versions the host's package lists offer, as of its last apt-get update"
	want := []*LockChange{
		{Kind: "layer", Key: docker.String(), Action: NoOp, Reason: reason, Unchanged: 1},
		{Kind: "layer", Key: fresh.String(), Action: Update, Before: "git 2.39",
			After: "the versions the mirror has when the layer next installs", Reason: "-upgrade"},
		{Kind: "layer", Key: hand.String(), Action: Update, Reason: reason, Before: "curl 7.88", After: "curl 7.88.1",
			Packages: []PackageMove{{Name: "curl", Before: "7.88", After: "7.88.1"}}},
		{Kind: "layer", Key: tools.String(), Action: Update, Reason: reason + ", lists dated 2026-11-29 06:30 UTC",
			Before: "jq 1.6, make 4.3, pinned 1.0", After: "jq 1.7, make 4.3, pinned 1.0",
			Packages: []PackageMove{{Name: "jq", Before: "1.6", After: "1.7"}}, Unchanged: 2},
	}
	if diff := cmp.Diff(want, p.LockChanges); diff != "" {
		t.Errorf("lock changes (-want +got):\n%s", diff)
	}

	got := ApplyLock(lock, p)
	if diff := cmp.Diff(map[string]string{"curl": "7.88.1"}, got.Layers[hand.String()].Packages); diff != "" {
		t.Errorf("the lock apply -upgrade starts from, for a layer that does not run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lock.Layers[tools.String()].Packages, got.Layers[tools.String()].Packages); diff != "" {
		t.Errorf("a layer that runs is recorded by the apply, not the plan (-want +got):\n%s", diff)
	}

	p.LockChanges = nil
	(&Engine{Lock: lock}).upgradeLockChanges(p)
	if len(p.LockChanges) != 0 {
		t.Errorf("without -upgrade: %+v", p.LockChanges)
	}
}
