package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// The root volume grows (disk_gb) and changes type (root_volume_type) in
// place with one ModifyVolume, so that both count as one of EBS's
// modifications: EBS refuses a new one while the last is being carried out
// (IncorrectModificationState) and, per volume, within 6 hours of the last
// (VolumeModificationRateExceeded). A grown volume is usable once the
// modification is optimizing; the file system on it is grown over SSH
// (growRootScript, run by the engine as the apply's HostScript).

// modifyRootVolume brings the root volume to the configured size and type.
// grew reports a size change (the file system must follow).
func (p *Provider) modifyRootVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance) (grew bool, diags hcl.Diagnostics) {
	id, volID := deref(inst.InstanceId), rootVolumeID(inst)
	wantSize, sizeSet := getInt(req.Config, "disk_gb")
	wantType := getString(req.Config, "root_volume_type")
	if volID == "" || (!sizeSet && wantType == "") {
		return false, nil
	}
	vols, err := describeVolumesByID(ctx, c, []string{volID})
	if err != nil {
		return false, apiDiag("reading the root volume of EC2 instance "+id, err)
	}
	vol, ok := vols[volID]
	if !ok {
		return false, nil
	}
	in := &ec2.ModifyVolumeInput{VolumeId: awssdk.String(volID)}
	var what []string
	if have := int64(awssdk.ToInt32(vol.Size)); sizeSet && have < wantSize {
		in.Size = awssdk.Int32(int32(wantSize))
		what = append(what, fmt.Sprintf("grows from %d to %d GiB", have, wantSize))
	}
	if wantType != "" && string(vol.VolumeType) != wantType {
		in.VolumeType = types.VolumeType(wantType)
		what = append(what, fmt.Sprintf("changes type from %s to %s", vol.VolumeType, wantType))
	}
	if len(what) == 0 {
		return false, nil
	}
	progress(req, "root volume %s of %s %s", volID, id, joinAnd(what))
	if _, err := c.ModifyVolume(ctx, in); err != nil {
		switch errorCode(err) {
		case "VolumeModificationRateExceeded":
			return false, errorDiag("Root volume modified too recently",
				"EBS allows one modification of a volume every 6 hours, and volume %s of %s was modified less than 6 hours ago (VolumeModificationRateExceeded). "+
					"Its size and type stay as they are; apply again once 6 hours have passed since the last change. "+
					"Changing disk_gb and root_volume_type together makes them one modification.", volID, id)
		case "IncorrectModificationState":
			return false, errorDiag("Root volume still being modified",
				"Volume %s of %s is still carrying out its last modification (IncorrectModificationState); apply again once it is done (aws ec2 describe-volumes-modifications --volume-ids %s).", volID, id, volID)
		}
		return false, apiDiag("modifying the root volume of EC2 instance "+id, err)
	}
	if err := p.waitVolumeModification(ctx, c, volID); err != nil {
		return false, apiDiag("waiting for the modification of root volume "+volID, err)
	}
	return in.Size != nil, nil
}

// waitVolumeModification waits until the volume's modification is
// optimizing or completed: the new size is usable from optimizing on.
func (p *Provider) waitVolumeModification(ctx context.Context, c *ec2.Client, volID string) error {
	return p.waitConsistent(ctx, "the modification of volume "+volID, []string{"InvalidVolumeModification.NotFound"}, func() (bool, error) {
		out, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{volID}})
		if err != nil {
			return false, err
		}
		for _, m := range out.VolumesModifications {
			switch m.ModificationState {
			case types.VolumeModificationStateOptimizing, types.VolumeModificationStateCompleted:
				return true, nil
			case types.VolumeModificationStateFailed:
				return false, fmt.Errorf("the modification of volume %s failed: %s", volID, deref(m.StatusMessage))
			}
		}
		return false, nil
	})
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return parts[0] + " and " + joinAnd(parts[1:])
}

// growRootScript grows the root partition (growpart) and its file system
// (resize2fs for ext*, xfs_growfs for xfs) to the grown volume. A root
// that is not a partition of a block device (a container's overlay, a
// whole-disk file system) is reported as nothing to grow, not as an error.
const growRootScript = `set -u
sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
src=$(findmnt -n -o SOURCE / 2>/dev/null || true)
fstype=$(findmnt -n -o FSTYPE / 2>/dev/null || true)
dev=$(readlink -f "$src" 2>/dev/null || printf '%s' "$src")
if [ -z "$src" ] || [ ! -b "$dev" ]; then
  echo "mlops: the root file system (${src:-unknown}, ${fstype:-unknown}) is not on a block device: nothing to grow"
  exit 0
fi
part=/sys/class/block/$(basename "$dev")/partition
if [ -r "$part" ]; then
  disk=$(lsblk -no PKNAME "$dev" | head -n1)
  if command -v growpart >/dev/null 2>&1; then
    out=$($sudo growpart "/dev/$disk" "$(cat "$part")" 2>&1); rc=$?
    echo "$out"
    case $rc in 0) ;; 1) echo "mlops: the partition already fills the disk" ;; *) exit $rc ;; esac
  else
    echo "mlops: growpart is missing (apt-get install cloud-guest-utils): the partition keeps its size"
  fi
fi
case $fstype in
  ext2|ext3|ext4) $sudo resize2fs "$dev" ;;
  xfs) $sudo xfs_growfs / ;;
  *) echo "mlops: cannot grow a $fstype root file system; grow it by hand" ;;
esac
df -h / | tail -n1
`

// withVolumeType records the root volume's type read from EC2.
func withVolumeType(st cty.Value, volType string) cty.Value {
	if volType == "" || st.IsNull() {
		return st
	}
	return withAttrs(st, map[string]cty.Value{"root_volume_type": cty.StringVal(volType)})
}

// metadataOptions are RunInstances' metadata options for imdsv2.
func metadataOptions(cfg cty.Value) *types.InstanceMetadataOptionsRequest {
	tokens := types.HttpTokensStateOptional
	if getBool(cfg, "imdsv2", true) {
		tokens = types.HttpTokensStateRequired
	}
	return &types.InstanceMetadataOptionsRequest{HttpTokens: tokens, HttpEndpoint: types.InstanceMetadataEndpointStateEnabled}
}

// imdsv2Of reads whether the instance requires IMDSv2; prior's value when
// EC2 does not say.
func imdsv2Of(inst types.Instance, prior cty.Value) cty.Value {
	if inst.MetadataOptions == nil || inst.MetadataOptions.HttpTokens == "" {
		return getAttr(prior, "imdsv2")
	}
	return cty.BoolVal(inst.MetadataOptions.HttpTokens == types.HttpTokensStateRequired)
}

// syncMetadataOptions requires (or stops requiring) IMDSv2 as configured.
func (p *Provider) syncMetadataOptions(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance) error {
	v := getAttr(req.Config, "imdsv2")
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	want := types.HttpTokensStateOptional
	if v.True() {
		want = types.HttpTokensStateRequired
	}
	if inst.MetadataOptions != nil && inst.MetadataOptions.HttpTokens == want {
		return nil
	}
	progress(req, "setting instance metadata tokens of %s to %s", deref(inst.InstanceId), want)
	_, err := c.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId: inst.InstanceId, HttpTokens: want, HttpEndpoint: types.InstanceMetadataEndpointStateEnabled})
	return err
}
