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
// the general message.
func TestUpgradeLockChangesPackages(t *testing.T) {
	dev := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	tools, docker, fresh := addrs.Layer{Resource: dev, Name: "tools"}, addrs.Layer{Resource: dev, Name: "docker"}, addrs.Layer{Resource: dev, Name: "fresh"}
	date := time.Date(2026, 11, 29, 6, 30, 0, 0, time.UTC)
	lock := lockfile.New()
	lock.Layers[tools.String()] = &lockfile.LayerPackages{Addr: tools.String(), Packages: map[string]string{"jq": "1.6", "make": "4.3", "pinned": "1.0"}}
	lock.Layers[docker.String()] = &lockfile.LayerPackages{Addr: docker.String(), Packages: map[string]string{"docker.io": "20.10"}}
	lock.Layers[fresh.String()] = &lockfile.LayerPackages{Addr: fresh.String(), Packages: map[string]string{"git": "2.39"}}
	p := &Plan{Changes: []*Change{{Addr: dev, Action: NoOp, Layers: []*LayerChange{
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
		{Kind: "layer", Key: tools.String(), Action: Update, Reason: reason + ", lists dated 2026-11-29 06:30 UTC",
			Before: "jq 1.6, make 4.3, pinned 1.0", After: "jq 1.7, make 4.3, pinned 1.0",
			Packages: []PackageMove{{Name: "jq", Before: "1.6", After: "1.7"}}, Unchanged: 2},
	}
	if diff := cmp.Diff(want, p.LockChanges); diff != "" {
		t.Errorf("lock changes (-want +got):\n%s", diff)
	}

	p.LockChanges = nil
	(&Engine{Lock: lock}).upgradeLockChanges(p)
	if len(p.LockChanges) != 0 {
		t.Errorf("without -upgrade: %+v", p.LockChanges)
	}
}
