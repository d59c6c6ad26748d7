package layers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// The data_volume kind is a host step, not a layer users declare: an
// aws_instance with a data_volume block asks it of its host before its
// layers (schema.Resource.HostSteps). It finds the EBS volume by its ID as
// Nitro instances expose it (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_
// vol...), formats it only when blkid finds nothing on it (no file system,
// no partition table), mounts it by UUID with nofail through /etc/fstab,
// grows the file system to the device and gives the mount point to the SSH
// user. It never formats a volume that holds anything.

// growSlack is how much larger than its file system a device must be
// before the file system is grown: EBS grows by whole GiB, and ext4 may
// leave less than a block group unused.
const growSlack = 16 << 20

var (
	volumeIDPattern   = regexp.MustCompile(`^vol-[0-9a-f]{1,32}$`)
	mountPointPattern = regexp.MustCompile(`^(/|~/)[A-Za-z0-9._/~+@:=-]*[A-Za-z0-9._~+@:=-]$`)
)

func dataVolumeKind() kind {
	ls := &schema.Layer{
		Description: "Mounts an instance's data volume (a host step of aws_instance.data_volume).",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"volume_id": {Type: cty.String, Required: true, Validate: stringCheck(func(s string) error {
				if !volumeIDPattern.MatchString(s) {
					return fmt.Errorf("%q is not an EBS volume ID (vol-...)", s)
				}
				return nil
			})},
			"mount": {Type: cty.String, Required: true, Validate: stringCheck(func(s string) error {
				if !mountPointPattern.MatchString(s) || strings.Contains(s, "/../") || strings.HasSuffix(s, "/..") {
					return fmt.Errorf("%q is not a mount point mlops accepts (absolute or ~/..., no blanks or backslashes)", s)
				}
				return nil
			})},
			"size_gb": {Type: cty.Number, Optional: true},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &dataVolumeSpec{volumeID: a.str("volume_id"), mount: a.str("mount")}
		return s, a.err
	}}
}

// internalKinds are the kinds of host steps: decode knows them, Schemas
// does not list them, so no configuration can declare one.
func internalKinds() map[string]kind {
	return map[string]kind{"data_volume": dataVolumeKind()}
}

type dataVolumeSpec struct {
	volumeID, mount string
}

// device is where a Nitro instance exposes the volume: the NVMe serial
// number is the volume ID without its dash.
func (s *dataVolumeSpec) device() string {
	return "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.Replace(s.volumeID, "-", "", 1)
}

// probe reports, without changing anything: whether the device is there,
// what blkid finds on it and its size (read as root with sudo -n, which
// stays read-only), the major:minor numbers of the device and of the file
// system mounted at the mount point, the owner of the mount point and the
// fstab lines.
func (s *dataVolumeSpec) probe(w *script) {
	w.line("dev=", quote(s.device()))
	w.line("mnt=", shPath(s.mount))
	w.fact("mnt", `"$mnt"`)
	w.fact("user", `"$(id -un)"`)
	w.flag("device", `[ -b "$dev" ]`)
	// Root reads the device itself; anyone else through sudo -n.
	w.line(`s=`)
	w.line(`if [ "$(id -u)" != 0 ]; then s='sudo -n'; fi`)
	w.line(`if [ -b "$dev" ] && { [ -z "$s" ] || sudo -n true >/dev/null 2>&1; }; then`)
	w.line(`  __mlops_fact disk "$($s sh -c 'blkid -p -o export -- "$1"; echo "SIZE=$(blockdev --getsize64 "$1")"; dumpe2fs -h -- "$1" 2>/dev/null | sed -n "s/^Block count: *\([0-9]*\)$/BLOCKS=\1/p; s/^Block size: *\([0-9]*\)$/BLOCKSIZE=\1/p"' sh "$dev" 2>/dev/null)"`)
	w.line(`fi`)
	w.fact("devnum", `"$(mountpoint -x -- "$dev" 2>/dev/null)"`)
	w.fact("mntnum", `"$(mountpoint -d -- "$mnt" 2>/dev/null)"`)
	w.fact("owner", `"$(stat -c %U -- "$mnt" 2>/dev/null)"`)
	w.fact("fstab", `"$(grep -E '^[[:space:]]*UUID=' /etc/fstab 2>/dev/null)"`)
}

// diskFacts parses the disk fact: KEY=VALUE lines.
func diskFacts(f facts) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(f["disk"], "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// fstabOK reports whether an fstab line mounts the UUID at mnt with nofail.
func fstabOK(f facts, uuid string) bool {
	for _, line := range strings.Split(f["fstab"], "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 4 && fields[0] == "UUID="+uuid && fields[1] == f["mnt"] {
			for _, o := range strings.Split(fields[3], ",") {
				if o == "nofail" {
					return true
				}
			}
		}
	}
	return false
}

// needsGrow reports whether an ext file system is smaller than its device.
func needsGrow(d map[string]string) bool {
	size, err1 := strconv.ParseInt(d["SIZE"], 10, 64)
	blocks, err2 := strconv.ParseInt(d["BLOCKS"], 10, 64)
	bs, err3 := strconv.ParseInt(d["BLOCKSIZE"], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	return size-blocks*bs >= growSlack
}

func (s *dataVolumeSpec) status(f facts) status {
	if !f.flag("device") {
		return status{reasons: []string{s.volumeID + " is not attached yet (no " + s.device() + ")"}}
	}
	d := diskFacts(f)
	st := status{present: true}
	uuid := d["UUID"]
	switch {
	case f["disk"] == "":
		st.reasons = append(st.reasons, "cannot read "+s.volumeID+" (sudo -n failed)")
	case d["TYPE"] == "" && d["PTTYPE"] == "":
		st.present = false
		st.reasons = append(st.reasons, s.volumeID+" is blank: to format (ext4)")
	case d["TYPE"] == "":
		st.reasons = append(st.reasons, s.volumeID+" has a partition table and no file system: mlops does not format it")
	default:
		if !fstabOK(f, uuid) {
			st.reasons = append(st.reasons, "no /etc/fstab line mounting UUID="+uuid+" at "+s.mount+" with nofail")
		}
		if f["devnum"] == "" || f["devnum"] != f["mntnum"] {
			st.reasons = append(st.reasons, s.mount+" is not mounted")
		} else if needsGrow(d) {
			st.reasons = append(st.reasons, "the file system of "+s.volumeID+" is smaller than the volume: to grow")
		}
	}
	if f["owner"] != "" && f["owner"] != f["user"] && f["devnum"] == f["mntnum"] {
		st.reasons = append(st.reasons, s.mount+" is owned by "+f["owner"]+", not "+f["user"])
	}
	st.satisfied = len(st.reasons) == 0
	return st
}

func (s *dataVolumeSpec) apply(w *script, f facts) {
	vol := quote(s.volumeID)
	w.line("__mlops_require_root")
	w.line("dev=", quote(s.device()))
	w.line("mnt=", shPath(s.mount))
	w.line("vol=", vol)
	// A volume attached a moment ago may take a while to show up.
	w.line(`i=0`)
	w.line(`while [ ! -b "$dev" ]; do`)
	w.line(`  i=$((i + 1))`)
	w.line(`  if [ "$i" -gt 300 ]; then echo "data volume $vol did not appear as $dev" >&2; exit 1; fi`)
	w.line(`  sleep 0.2`)
	w.line(`done`)
	w.line(`fstype=$(__mlops_root blkid -p -o value -s TYPE -- "$dev" || true)`)
	w.line(`if [ -z "$fstype" ]; then`)
	w.line(`  pttype=$(__mlops_root blkid -p -o value -s PTTYPE -- "$dev" || true)`)
	w.line(`  if [ -n "$pttype" ]; then echo "data volume $vol has a $pttype partition table and no file system: mlops does not format it" >&2; exit 1; fi`)
	w.line(`  echo "data volume $vol is blank: formatting it (ext4)"`)
	// Without -F, mkfs refuses to overwrite a file system it finds.
	w.line(`  __mlops_root mkfs.ext4 -q -L mlops-data -- "$dev"`)
	w.line(`  fstype=ext4`)
	w.line(`fi`)
	w.line(`uuid=$(__mlops_root blkid -p -o value -s UUID -- "$dev")`)
	w.line(`if [ -z "$uuid" ]; then echo "data volume $vol: its $fstype file system has no UUID" >&2; exit 1; fi`)
	w.line(`__mlops_pick_sudo "$mnt"`)
	w.line(`line="UUID=$uuid $mnt $fstype defaults,nofail 0 2"`)
	w.line(`if ! grep -qxF -- "$line" /etc/fstab 2>/dev/null; then`)
	w.line(`  tmp=$(__mlops_root mktemp /etc/.mlops-fstab.XXXXXX)`)
	w.line(`  __mlops_tmps+=("$tmp")`)
	// Every other line stays; the volume's or the mount point's old line goes.
	w.line(`  { if [ -f /etc/fstab ]; then awk -v u="UUID=$uuid" -v m="$mnt" '$1 != u && $2 != m' /etc/fstab; fi; printf '%s\n' "$line"; } | __mlops_root tee -- "$tmp" >/dev/null`)
	w.line(`  __mlops_root chmod 0644 "$tmp"`)
	w.line(`  __mlops_root mv -fT "$tmp" /etc/fstab`)
	w.line(`  echo "/etc/fstab: $line"`)
	w.line(`fi`)
	w.line(`if [ "$(mountpoint -d -- "$mnt" 2>/dev/null)" != "$(mountpoint -x -- "$dev")" ]; then`)
	w.line(`  if mountpoint -q -- "$mnt"; then echo "$mnt is already the mount point of another file system" >&2; exit 1; fi`)
	// By the device: resolving UUID= needs udev's links, and with nofail
	// a mount that finds no device says nothing. Boots use the fstab line.
	w.line(`  __mlops_root mount -t "$fstype" -- "$dev" "$mnt"`)
	w.line(`  echo "mounted data volume $vol at $mnt"`)
	w.line(`fi`)
	w.line(`case "$fstype" in`)
	w.line(`ext2 | ext3 | ext4)`)
	w.line(`  size=$(__mlops_root blockdev --getsize64 "$dev")`)
	w.line(`  blocks=$(__mlops_root dumpe2fs -h -- "$dev" 2>/dev/null | sed -n 's/^Block count: *\([0-9]*\)$/\1/p')`)
	w.line(`  bsize=$(__mlops_root dumpe2fs -h -- "$dev" 2>/dev/null | sed -n 's/^Block size: *\([0-9]*\)$/\1/p')`)
	w.line(`  if [ $((size - blocks * bsize)) -ge `, strconv.Itoa(growSlack), ` ]; then`)
	w.line(`    echo "growing the file system of $vol to $((size / 1048576)) MiB"`)
	// Online growth needs the kernel's consent (CAP_SYS_RESOURCE, a
	// recent kernel); without it, the file system grows unmounted.
	w.line(`    if ! __mlops_root resize2fs -- "$dev"; then`)
	w.line(`      echo "growing it online failed: unmounting $mnt to grow it offline"`)
	w.line(`      __mlops_root umount -- "$mnt"`)
	w.line(`      __mlops_root e2fsck -f -p -- "$dev" || [ $? -le 1 ]`)
	w.line(`      __mlops_root resize2fs -- "$dev"`)
	w.line(`      __mlops_root mount -t "$fstype" -- "$dev" "$mnt"`)
	w.line(`    fi`)
	w.line(`  fi`)
	w.line(`  ;;`)
	w.line(`xfs) __mlops_root xfs_growfs -- "$mnt" >/dev/null ;;`)
	w.line(`esac`)
	w.line(`if [ "$(stat -c %u:%g -- "$mnt")" != "$(id -u):$(id -g)" ]; then`)
	w.line(`  __mlops_root chown -- "$(id -u):$(id -g)" "$mnt"`)
	w.line(`  echo "$mnt now belongs to $(id -un)"`)
	w.line(`fi`)
}

// remove leaves the volume mounted: its data stays where it is, and a
// removed data volume is refused before it gets here.
func (s *dataVolumeSpec) remove(w *script, others []spec) string {
	return "left in place: data volume " + s.volumeID + " stays mounted at " + s.mount
}
