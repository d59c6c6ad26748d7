package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file give an instance a data volume. The test world
// (testworld.Volumes) turns moto's volume records into loop devices inside
// the sandbox hosts, under the device name a Nitro instance shows, so the
// host step really formats, mounts and grows a file system.

// volumeConfig is machineConfig with a data volume of size GiB on ~/work, a
// file layer that writes into it (the volume is mounted before the
// layers), user data (changing it forces a replacement) and extra lines
// (lifecycle, running).
func volumeConfig(size int, userData, extra string) string {
	return machineConfig("", fmt.Sprintf(`
  user_data = %q

  data_volume {
    size_gb = %d
    mount   = "~/work"
  }

  layer "file" {
    name        = "readme"
    destination = "~/work/README"
    content     = "kept on the data volume\n"
  }
%s`, userData, size, extra), "")
}

// dataVolumeID returns the data volume ID recorded for aws_instance.dev.
func (s *stack) dataVolumeID() string {
	s.t.Helper()
	b, err := os.ReadFile(s.statePath())
	if err != nil {
		s.t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Address    string `json:"address"`
			Attributes struct {
				ID         string `json:"id"`
				DataVolume *struct {
					ID     string `json:"id"`
					SizeGB int    `json:"size_gb"`
				} `json:"data_volume"`
			} `json:"attributes"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		s.t.Fatal(err)
	}
	for _, r := range st.Resources {
		if r.Address == "aws_instance.dev" && r.Attributes.DataVolume != nil {
			return r.Attributes.DataVolume.ID
		}
	}
	s.t.Fatalf("the state records no data volume for aws_instance.dev:\n%s", b)
	return ""
}

// volumes counts moto's volumes tagged as the data volume of aws_instance.dev.
func (s *stack) dataVolumes() map[string]int32 {
	s.t.Helper()
	out, err := s.ec2().DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	found := map[string]int32{}
	for _, v := range out.Volumes {
		if tag(v.Tags, "mlops:address") == "aws_instance.dev.data_volume" {
			found[awssdk.ToString(v.VolumeId)] = awssdk.ToInt32(v.Size)
		}
	}
	return found
}

// mountFacts reads, on h, the device mounted at the ubuntu user's ~/work,
// its UUID, its owner and the fstab line of that UUID.
func mountFacts(t *testing.T, h *testworld.Host) (source, uuid, owner, fstab string) {
	t.Helper()
	out := h.Exec(t, `m=/home/ubuntu/work
src=$(awk -v m="$m" '$2 == m {print $1}' /proc/mounts)
echo "$src"
blkid -p -o value -s UUID "$src"
stat -c %U "$m"
u=$(blkid -p -o value -s UUID "$src"); grep "^UUID=$u " /etc/fstab || true`)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for len(lines) < 4 {
		lines = append(lines, "")
	}
	return lines[0], lines[1], lines[2], lines[3]
}

func TestDataVolumeOutlivesReplacement(t *testing.T) {
	hosts := testworld.StartHosts(t, 2)
	a, b := hosts[0], hosts[1]
	s := layerStack(t, a.KeyFile, a.Addr, a.Port, volumeConfig(1, "first", ""))
	vols := testworld.StartVolumes(t, s.moto.Endpoint())
	s.env = append(s.env, "AWS_ENDPOINT_URL="+vols.URL())
	vols.PlaceOn(a)

	// Create: the volume is formatted, mounted by UUID with nofail, owned
	// by the SSH user, before the layer that writes into it.
	r := s.must(0, "apply", "-auto-approve")
	contains(t, r, "created data volume", "formatting it (ext4)", "mounted data volume")
	volID := s.dataVolumeID()
	if host, dev := vols.Device(volID); host != a || dev != "/dev/nvme1n1" {
		t.Fatalf("volume %s attached to %v as %q, want host A as /dev/nvme1n1", volID, host, dev)
	}
	src, uuid, owner, fstab := mountFacts(t, a)
	if src != "/dev/nvme1n1" || uuid == "" || owner != "ubuntu" {
		t.Fatalf("~/work: source %q, UUID %q, owner %q; want /dev/nvme1n1, a UUID, ubuntu", src, uuid, owner)
	}
	if want := "UUID=" + uuid + " /home/ubuntu/work ext4 defaults,nofail 0 2"; fstab != want {
		t.Fatalf("fstab line %q, want %q", fstab, want)
	}
	if got := a.Exec(t, "cat /home/ubuntu/work/README"); got != "kept on the data volume\n" {
		t.Fatalf("README on the volume: %q", got)
	}
	a.Exec(t, "echo precious > /home/ubuntu/work/data.txt && chown ubuntu: /home/ubuntu/work/data.txt && sync")

	// A second apply changes nothing and formats nothing; its probe is
	// one SSH connection.
	before := a.Connections()
	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "No changes.")
	if n := a.Connections() - before; n != 1 {
		t.Errorf("a no-op apply made %d SSH connections, want 1", n)
	}
	// A no-op plan reads the data volume in the instances' DescribeVolumes.
	counter := testworld.StartFaultProxy(t, vols.URL())
	commands := sessions(a)
	base := commands()
	before = a.Connections()
	if r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + counter.URL()}, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("no-op plan: %s", r)
	}
	calls := map[string]int{}
	for _, x := range counter.Log() {
		calls[x.Action]++
	}
	ran := commands() - base
	t.Logf("a no-op plan with a data volume: EC2 calls %v, %d SSH connection(s), %d remote command(s)", calls, a.Connections()-before, ran)
	if calls["DescribeVolumes"] != 1 || calls["DescribeInstances"] != 1 || a.Connections()-before != 1 || ran != 1 {
		t.Errorf("a no-op plan made EC2 calls %v, %d SSH connections and %d remote commands; want one DescribeVolumes, one DescribeInstances, one connection, one command", calls, a.Connections()-before, ran)
	}
	if _, u, _, _ := mountFacts(t, a); u != uuid {
		t.Fatalf("the file system changed: UUID %s -> %s", uuid, u)
	}

	// -replace forces a replacement nothing else would make.
	r = s.must(0, "plan", "-replace=aws_instance.dev")
	contains(t, r, "must be replaced (replacement requested with -replace)", "Named with -replace=aws_instance.dev")

	// A change that forces a replacement is refused, also with
	// -auto-approve, before anything changes, saying what is lost.
	instID := s.liveInstances()[0].InstanceId
	s.writeConfig(volumeConfig(1, "second", ""))
	r = s.must(0, "plan")
	contains(t, r, "replacing destroys the 8 GB root disk and everything on it that is not on the data volume",
		"apply refuses this unless you name it: mlops apply -replace=aws_instance.dev")
	r = s.must(2, "plan", "-json", "-detailed-exitcode")
	contains(t, r, `"guarded_replacement"`, `"named": false`)
	r = s.must(1, "apply", "-auto-approve")
	contains(t, r, "Replacing aws_instance.dev needs -replace=aws_instance.dev",
		"replacing destroys the 8 GB root disk and everything on it that is not on the data volume")
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) != awssdk.ToString(instID) {
		t.Fatalf("the refused apply changed the instances: %v", live)
	}
	// A saved plan made without -replace is refused the same way.
	s.must(0, "plan", "-out", "replace.plan")
	r = s.must(1, "apply", "replace.plan")
	contains(t, r, "Replacing aws_instance.dev needs -replace=aws_instance.dev")

	// Named, the box is replaced on a new host; the volume follows.
	vols.PlaceOn(b)
	r = s.must(0, "apply", "-auto-approve", "-replace=aws_instance.dev",
		"-var", "ssh_host="+b.Addr, "-var", "ssh_port="+strconv.Itoa(b.Port))
	contains(t, r, "kept data volume "+volID, "attaching data volume "+volID)
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) == awssdk.ToString(instID) {
		t.Fatalf("after the replacement: %v", live)
	}
	if got := s.dataVolumeID(); got != volID {
		t.Fatalf("data volume %s after the replacement, want the same %s", got, volID)
	}
	if host, _ := vols.Device(volID); host != b {
		t.Fatalf("volume %s is not attached to the new host", volID)
	}
	if got := b.Exec(t, "cat /home/ubuntu/work/data.txt"); got != "precious\n" {
		t.Fatalf("data.txt after the replacement: %q", got)
	}
	if src, u, owner, fstab := mountFacts(t, b); u != uuid || owner != "ubuntu" || !strings.HasPrefix(fstab, "UUID="+uuid+" ") || src == "" {
		t.Fatalf("on the new host: source %q UUID %q (want %s), owner %q, fstab %q", src, u, uuid, owner, fstab)
	}
	if n := len(s.dataVolumes()); n != 1 {
		t.Fatalf("%d data volumes in EC2, want 1", n)
	}
	s.env = append(s.env, "MLOPS_VAR_ssh_host="+b.Addr, "MLOPS_VAR_ssh_port="+strconv.Itoa(b.Port))

	// Grow in place: ModifyVolume, then the file system follows.
	s.writeConfig(volumeConfig(2, "second", ""))
	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "grows from 1 to 2 GiB", "growing data volume "+volID, "growing the file system")
	if got := s.dataVolumes()[volID]; got != 2 {
		t.Fatalf("volume size %d GiB in EC2, want 2", got)
	}
	size, err := strconv.ParseInt(strings.TrimSpace(b.Exec(t, "df -B1 --output=size /home/ubuntu/work | tail -1")), 10, 64)
	if err != nil || size < 3<<29 {
		t.Fatalf("df size of ~/work after growing to 2 GiB: %d (%v)", size, err)
	}
	if got := b.Exec(t, "cat /home/ubuntu/work/data.txt"); got != "precious\n" {
		t.Fatalf("data.txt after growing: %q", got)
	}
	s.must(0, "plan", "-detailed-exitcode")

	// Stop and start, with a reboot in between (the sandbox's mounts go
	// with its sshd): the volume stays attached, and the first plan after
	// the start finds it unmounted and mounts it again, without formatting.
	s.writeConfig(volumeConfig(2, "second", "  running = false\n"))
	s.must(0, "apply", "-auto-approve")
	b.Restart(t, false)
	s.writeConfig(volumeConfig(2, "second", ""))
	s.must(0, "apply", "-auto-approve")
	r = s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "~/work is not mounted")
	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "mounted data volume "+volID)
	if r := s.run("apply", "-auto-approve"); r.code != 0 || strings.Contains(r.stdout, "formatting") {
		t.Fatalf("apply after the remount: %s", r)
	}
	if _, u, _, _ := mountFacts(t, b); u != uuid {
		t.Fatalf("the file system changed over stop and start: UUID %s -> %s", uuid, u)
	}
	if got := b.Exec(t, "cat /home/ubuntu/work/data.txt"); got != "precious\n" {
		t.Fatalf("data.txt after stop and start: %q", got)
	}

	// Shrinking is refused before any change.
	s.writeConfig(volumeConfig(1, "second", ""))
	r = s.must(1, "plan")
	contains(t, r, "A data volume cannot shrink", "main.hcl:")

	// prevent_destroy protects it; destroy lists it with its size.
	s.writeConfig(volumeConfig(2, "second", "  lifecycle {\n    prevent_destroy = true\n  }\n"))
	r = s.must(1, "destroy", "-auto-approve")
	contains(t, r, "prevent_destroy")
	if n := len(s.dataVolumes()); n != 1 {
		t.Fatalf("%d data volumes after a refused destroy, want 1", n)
	}
	s.writeConfig(volumeConfig(2, "second", ""))
	r = s.must(0, "destroy", "-auto-approve")
	contains(t, r, "data_volume {", `id       = "`+volID+`"`, "size_gb  = 2", "deleting data volume "+volID+" (2 GiB)")
	if n := len(s.dataVolumes()); n != 0 {
		t.Fatalf("%d data volumes after destroy, want 0", n)
	}
}

// TestCrashAroundVolumeCalls kills apply right after moto created, then
// attached, the data volume (mlops never heard the answer): the next apply
// adopts the tagged volume instead of creating a second one, and mounts it.
func TestCrashAroundVolumeCalls(t *testing.T) {
	hosts := testworld.StartHosts(t, 2)
	for i, action := range []string{"CreateVolume", "AttachVolume"} {
		t.Run(action, func(t *testing.T) {
			h := hosts[i]
			s := layerStack(t, h.KeyFile, h.Addr, h.Port, volumeConfig(1, "first", ""))
			vols := testworld.StartVolumes(t, s.moto.Endpoint())
			vols.PlaceOn(h)
			s.env = append(s.env, "AWS_ENDPOINT_URL="+vols.URL())
			p := testworld.StartFaultProxy(t, vols.URL())
			v := s.startVictim(p, nil, func(x testworld.Exchange) bool { return x.Action == action }, nil, "apply", "-auto-approve")
			if moment := v.wait(); moment == "" {
				t.Fatalf("apply was not killed after %s", action)
			}
			s.must(0, "apply", "-auto-approve")
			if got := s.dataVolumes(); len(got) != 1 {
				t.Fatalf("%d data volumes after the recovery, want 1: %v", len(got), got)
			}
			if host, _ := vols.Device(s.dataVolumeID()); host != h {
				t.Fatalf("the recorded volume is not attached to the host")
			}
			if src, _, owner, _ := mountFacts(t, h); src == "" || owner != "ubuntu" {
				t.Fatalf("after the recovery: source %q owner %q", src, owner)
			}
			s.must(0, "plan", "-detailed-exitcode")
		})
	}
}
