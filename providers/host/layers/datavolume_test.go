package layers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func dataVolumeConfig(id, mount string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"volume_id": cty.StringVal(id), "mount": cty.StringVal(mount), "size_gb": cty.NumberIntVal(10)})
}

// TestDataVolumeStatus: the probe's facts judged, from a blank volume to a
// mounted one, and what stands in the way of each step.
func TestDataVolumeStatus(t *testing.T) {
	s, err := decode("data_volume", dataVolumeConfig("vol-0abc", "~/work"))
	if err != nil {
		t.Fatal(err)
	}
	mounted := facts{"device": "1", "mnt": "/home/ubuntu/work", "user": "ubuntu", "owner": "ubuntu",
		"disk":   "DEVNAME=/dev/nvme1n1\nUUID=u-1\nTYPE=ext4\nSIZE=10737418240\nBLOCKS=2621440\nBLOCKSIZE=4096",
		"devnum": "259:1", "mntnum": "259:1",
		"fstab": "UUID=root / ext4 defaults 0 1\nUUID=u-1 /home/ubuntu/work ext4 defaults,nofail 0 2"}
	with := func(kv ...string) facts {
		f := facts{}
		for k, v := range mounted {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i]] = kv[i+1]
		}
		return f
	}
	for _, c := range []struct {
		name      string
		f         facts
		satisfied bool
		present   bool
		reason    string
	}{
		{"mounted", mounted, true, true, ""},
		{"not attached", facts{"user": "ubuntu"}, false, false, "vol-0abc is not attached yet"},
		{"blank", with("disk", "DEVNAME=/dev/nvme1n1\nSIZE=10737418240", "mntnum", ""), false, false, "vol-0abc is blank: to format (ext4)"},
		{"partitioned", with("disk", "PTTYPE=gpt\nSIZE=1"), false, true, "has a partition table and no file system: mlops does not format it"},
		{"no fstab line", with("fstab", "UUID=u-1 /home/ubuntu/work ext4 defaults 0 2"), false, true, "no /etc/fstab line mounting UUID=u-1 at ~/work with nofail"},
		{"unmounted", with("mntnum", ""), false, true, "~/work is not mounted"},
		{"grown volume", with("disk", "UUID=u-1\nTYPE=ext4\nSIZE=21474836480\nBLOCKS=2621440\nBLOCKSIZE=4096"), false, true, "smaller than the volume: to grow"},
		{"owner", with("owner", "root"), false, true, "~/work is owned by root, not ubuntu"},
		{"no sudo", with("disk", ""), false, true, "cannot read vol-0abc"},
	} {
		st := s.status(c.f)
		if st.satisfied != c.satisfied || st.present != c.present || (c.reason != "" && !strings.Contains(strings.Join(st.reasons, "; "), c.reason)) {
			t.Errorf("%s: satisfied %v present %v reasons %q; want %v %v %q", c.name, st.satisfied, st.present, st.reasons, c.satisfied, c.present, c.reason)
		}
	}
}

// TestDataVolumeScripts: the scripts parse, quote every value, find the
// volume by its Nitro name and never force a format.
func TestDataVolumeScripts(t *testing.T) {
	s, err := decode("data_volume", dataVolumeConfig("vol-0abc", "/data/x"))
	if err != nil {
		t.Fatal(err)
	}
	var w script
	s.apply(&w, facts{})
	apply := convergeScript("ubuntu", w.String())
	probe := probeScript("nonce", []spec{s})
	for name, sc := range map[string]string{"apply": apply, "probe": probe} {
		if out, err := exec.Command("bash", "-n", "-c", sc).CombinedOutput(); err != nil {
			t.Errorf("%s script does not parse: %v\n%s", name, err, out)
		}
		if !strings.Contains(sc, "'/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc'") || !strings.Contains(sc, "mnt='/data/x'") {
			t.Errorf("%s script does not quote the device and the mount point:\n%s", name, sc)
		}
	}
	if strings.Contains(apply, "mkfs.ext4 -F") || strings.Contains(apply, "mkfs -F") || !strings.Contains(apply, `if [ -z "$fstype" ]; then`) {
		t.Errorf("the apply script may format a volume that holds a file system:\n%s", apply)
	}
	for _, want := range []string{"defaults,nofail 0 2", "resize2fs", "chown"} {
		if !strings.Contains(apply, want) {
			t.Errorf("apply script lacks %q", want)
		}
	}
}

// TestDataVolumeKindIsInternal: no configuration can declare the kind,
// and hostile settings are refused before they reach a script.
func TestDataVolumeKindIsInternal(t *testing.T) {
	if _, ok := Schemas()["data_volume"]; ok {
		t.Fatal("the data_volume host step is listed among the layer kinds users declare")
	}
	for _, c := range []struct{ id, mount string }{
		{"vol-0abc'; reboot", "~/work"}, {"vol-0abc", "~/work dir"}, {"vol-0abc", "~/../../etc"},
		{"vol-0abc", `~/a\b`}, {"vol-0abc", "work"}, {"vol-0abc", "~/$(reboot)"},
	} {
		if _, err := decode("data_volume", dataVolumeConfig(c.id, c.mount)); err == nil {
			t.Errorf("volume %q mount %q accepted", c.id, c.mount)
		}
	}
}
