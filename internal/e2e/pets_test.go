package e2e

import (
	"strconv"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// TestNewerImageNeverReplacesThePet is the story of issue 8 from end to end:
// a converged box with a data volume, then the image publisher releases a
// newer matching image. The plan only notes it; -upgrade shows the
// replacement with both dates; apply -upgrade refuses it, -auto-approve or
// not, until the box is named with -replace; then the box is replaced and
// the files on the data volume are still there, on the same volume.
func TestNewerImageNeverReplacesThePet(t *testing.T) {
	hosts := testworld.StartHosts(t, 2)
	a, b := hosts[0], hosts[1]
	config := strings.Replace(volumeConfig(1, "first", ""), `owners = ["099720109477"]`,
		`owners = ["099720109477", "`+testworld.MotoAccountID+`"]`, 1)
	s := layerStack(t, a.KeyFile, a.Addr, a.Port, config)
	vols := s.startVolumes()
	vols.PlaceOn(a)

	s.must(0, "apply", "-auto-approve")
	volID := s.dataVolumeID()
	oldID := awssdk.ToString(s.liveInstances()[0].InstanceId)
	a.Exec(t, "echo notebooks > /home/ubuntu/work/data.txt && chown ubuntu: /home/ubuntu/work/data.txt && sync")
	if !strings.Contains(s.lockFile(), lockedAMI) {
		t.Fatalf("the lock does not pin %s:\n%s", lockedAMI, s.lockFile())
	}

	// Canonical publishes a newer image: a note, not a change.
	img := s.moto.RegisterImage(t, jammy+"20261120")
	r := s.must(0, "plan", "-detailed-exitcode")
	contains(t, r, "No changes.", "newer image available: "+img.ID, "mlops plan -upgrade shows the change")

	// -upgrade shows the replacement, with both images' dates.
	r = s.must(2, "plan", "-upgrade", "-detailed-exitcode")
	contains(t, r, "must be replaced", lockedAMI+" ("+lockedAMIName+") of "+lockedAMIDate,
		"-> "+img.ID+" ("+img.Name+") of "+img.CreationDate,
		"root disk and everything on it that is not on the data volume")

	// apply -upgrade refuses it without the box's name, even auto-approved,
	// and changes nothing: not the instance, not the lock.
	lockBefore := s.lockFile()
	r = s.must(1, "apply", "-upgrade", "-auto-approve")
	contains(t, r, "Replacing aws_instance.dev needs -replace=aws_instance.dev")
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) != oldID {
		t.Fatalf("the refused apply changed the instances: %v", live)
	}
	if got := s.lockFile(); got != lockBefore {
		t.Fatalf("the refused apply changed the lock:\n%s\nwas:\n%s", got, lockBefore)
	}

	// Named, the box is replaced from the new image on a new sandbox host;
	// the data volume follows with its files.
	vols.PlaceOn(b)
	r = s.must(0, "apply", "-upgrade", "-auto-approve", "-replace=aws_instance.dev",
		"-var", "ssh_host="+b.Addr, "-var", "ssh_port="+strconv.Itoa(b.Port))
	contains(t, r, "kept data volume "+volID)
	live := s.liveInstances()
	if len(live) != 1 || awssdk.ToString(live[0].InstanceId) == oldID || awssdk.ToString(live[0].ImageId) != img.ID {
		t.Fatalf("after the named replacement: %d instances, want one new instance of %s: %+v", len(live), img.ID, live)
	}
	if got := s.dataVolumeID(); got != volID {
		t.Fatalf("data volume %s after the replacement, want the same %s", got, volID)
	}
	if got := b.Exec(t, "cat /home/ubuntu/work/data.txt"); got != "notebooks\n" {
		t.Fatalf("data.txt on the new box: %q", got)
	}
	if lock := s.lockFile(); !strings.Contains(lock, img.ID) || strings.Contains(lock, lockedAMI) {
		t.Fatalf("the lock after apply -upgrade does not pin %s alone:\n%s", img.ID, lock)
	}
}

// TestRemovedBlockNeverDeletesThePet: the block of a converged box goes
// from the file (a bad merge, the wrong directory with the team's remote
// state). plan shows the deletion with what it destroys; apply refuses it,
// -auto-approve or not, and changes nothing; named with -delete, the box
// is deleted.
func TestRemovedBlockNeverDeletesThePet(t *testing.T) {
	h := testworld.StartHost(t)
	layer := `
  layer "file" {
    name        = "notes"
    destination = "~/notes/todo"
    content     = "train\n"
  }
`
	config := machineConfig("", layer, "")
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, config)
	s.must(0, "apply", "-auto-approve")
	id := awssdk.ToString(s.liveInstances()[0].InstanceId)

	// The block is gone; the key pair and the image stay.
	s.writeConfig(config[:strings.Index(config, `resource "aws_instance" "dev"`)])
	r := s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "aws_instance.dev will be destroyed", "it is no longer in the configuration",
		"# Warning: deleting destroys the machine, its disks and everything on them: the software of its layers (notes)",
		"apply refuses this unless you name it: mlops apply -delete=aws_instance.dev")

	r = s.must(1, "apply", "-auto-approve")
	contains(t, r, "Deleting aws_instance.dev needs -delete=aws_instance.dev", "mlops state rm aws_instance.dev")
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) != id {
		t.Fatalf("the refused apply changed the instances: %v", live)
	}
	if got := s.recordedLayers("aws_instance.dev"); len(got) != 1 {
		t.Fatalf("the refused apply changed the state: layers %v", got)
	}

	// -delete must name a deletion of the plan.
	r = s.must(1, "apply", "-auto-approve", "-delete=aws_key_pair.razer")
	contains(t, r, "-delete=aws_key_pair.razer names no resource this plan deletes")

	r = s.must(0, "apply", "-auto-approve", "-delete=aws_instance.dev")
	contains(t, r, "Named with -delete=aws_instance.dev: apply will delete it.")
	if live := s.liveInstances(); len(live) != 0 {
		t.Fatalf("after apply -delete=aws_instance.dev: %d live instances", len(live))
	}
	s.must(0, "plan", "-detailed-exitcode")
}
