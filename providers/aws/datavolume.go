package aws

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// A data volume is an EBS volume that holds what must outlive the instance
// (notebooks, datasets, environments). It is part of the aws_instance's
// state (data_volume.id), so the refresh reads it in the DescribeVolumes
// call the instances' root volumes already make, but its life is its own:
//
//   - it is created in the instance's availability zone, tagged for the
//     stack and the address TYPE.NAME.data_volume, and adopted by those tags
//     when a run died before recording it (no second volume);
//   - a replacement terminates the old instance without deleting it
//     (AttachVolume leaves DeleteOnTermination false), starts the new one
//     in the volume's zone and attaches it there;
//   - it grows in place (ModifyVolume) and never shrinks;
//   - only a destroy of the instance deletes it, after the plan listed it.
//
// The host side (format when blank, mount by UUID, fstab, grow the file
// system, owner) is the host step "data_volume" (providers/host/layers).

// DataVolumeStep is the name and kind of the host step that mounts the data
// volume before the configured layers.
const DataVolumeStep = "data_volume"

// dataVolumeDevice is the device name the volume is attached under. Nitro
// instances show every EBS volume as an NVMe device whatever this name;
// the host step finds it by volume ID (/dev/disk/by-id).
const dataVolumeDevice = "/dev/sdf"

// Volume and attachment states.
const (
	volumeCreating  = "creating"
	volumeAvailable = "available"
	volumeInUse     = "in-use"
	attachAttached  = "attached"
)

func dataVolumeBlock() *schema.NestedBlock {
	return &schema.NestedBlock{
		Nesting: schema.NestingSingle,
		Block: schema.Block{
			Description: "An EBS volume for data that outlives the instance: formatted (ext4) only when blank, mounted by UUID with nofail, owned by the SSH user. A replacement of the instance keeps it and attaches it to the new one; destroy deletes it.",
			Attributes: map[string]*schema.Attribute{
				"size_gb": {Type: cty.Number, Required: true, Validate: validateDataVolumeGB,
					Description: "Size in GiB. Growing is in place (the file system follows); shrinking is refused."},
				"mount": {Type: cty.String, Required: true, Validate: validateMountPoint,
					Description: "Where to mount it, such as ~/work (~/ is the SSH user's home) or /data."},
				"type": {Type: cty.String, Optional: true, Default: cty.StringVal("gp3"), Validate: validateVolumeType,
					Description: "The EBS volume type: gp3, gp2, st1 or sc1. Changes in place."},
				"id": {Type: cty.String, Computed: true, Description: "The volume ID (vol-...)."},
				"attached": {Type: cty.Bool, Computed: true,
					Description: "Whether the volume is attached to the instance; one detached outside mlops is attached again."},
			},
		},
	}
}

func validateDataVolumeGB(v cty.Value) error {
	n, ok := asInt(v)
	if !ok || n < 1 || n > maxDiskGB {
		return fmt.Errorf("size_gb must be a whole number of GiB from 1 to %d, got %s", maxDiskGB, v.AsBigFloat().Text('g', -1))
	}
	return nil
}

func validateVolumeType(v cty.Value) error {
	switch s := v.AsString(); s {
	case "gp3", "gp2", "st1", "sc1":
		return nil
	default:
		return fmt.Errorf("type must be gp3, gp2, st1 or sc1, got %q", s)
	}
}

// mountPattern is what a mount point may hold: it goes into /etc/fstab,
// whose fields are separated by blanks, and into awk -v, which reads
// backslashes as escapes.
var mountPattern = regexp.MustCompile(`^[A-Za-z0-9._/~+@:=-]+$`)

func validateMountPoint(v cty.Value) error {
	s := v.AsString()
	switch {
	case !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "~/"):
		return fmt.Errorf("mount must be an absolute path or start with ~/ (the SSH user's home), such as ~/work; got %q", s)
	case !mountPattern.MatchString(s):
		return fmt.Errorf("mount may hold letters, digits and . _ / ~ + @ : = - only (it goes into /etc/fstab); got %q", s)
	case strings.Contains(s[1:], "~"):
		return fmt.Errorf("mount may use ~ only as its first character; got %q", s)
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("mount must not contain . or .. components; got %q", s)
		}
	}
	if clean := strings.TrimRight(s, "/"); clean == "" || clean == "~" {
		return fmt.Errorf("mount must be a directory below / or below the home directory, not %q itself", s)
	}
	return nil
}

// dataVolumeSteps is the aws_instance's HostSteps: a data volume is mounted
// before the layers run.
func dataVolumeSteps(v cty.Value) []schema.HostStep {
	dv := getAttr(v, "data_volume")
	if dv.IsNull() {
		return nil
	}
	if !dv.IsKnown() {
		return []schema.HostStep{{Name: DataVolumeStep, Kind: DataVolumeStep, Config: cty.UnknownVal(dataVolumeStepType)}}
	}
	return []schema.HostStep{{Name: DataVolumeStep, Kind: DataVolumeStep, Config: cty.ObjectVal(map[string]cty.Value{
		"volume_id": conformTo(getAttr(dv, "id"), cty.String),
		"mount":     conformTo(getAttr(dv, "mount"), cty.String),
		"size_gb":   conformTo(getAttr(dv, "size_gb"), cty.Number),
	})}}
}

// dataVolumeStepType is the configuration of the data_volume host step.
var dataVolumeStepType = cty.Object(map[string]cty.Type{"volume_id": cty.String, "mount": cty.String, "size_gb": cty.Number})

// planDataVolume plans the data_volume block: the configured settings with
// the volume ID of the prior state (a replacement keeps the volume). It
// refuses a shrink and the removal of the block, and notes a growth.
func planDataVolume(prior, cfg cty.Value) (cty.Value, []string, hcl.Diagnostics) {
	want, had := getAttr(cfg, "data_volume"), getAttr(prior, "data_volume")
	ty := instanceSchema().Block.BlockTypes["data_volume"].Block.ImpliedType()
	if !want.IsKnown() {
		return cty.UnknownVal(ty), nil, nil
	}
	if want.IsNull() {
		if !had.IsNull() && getString(had, "id") != "" {
			size, _ := getInt(had, "size_gb")
			return cty.NullVal(ty), nil, errorDiag("A data volume cannot be removed from its instance",
				"The data_volume block was removed, but volume %s (%d GiB, mounted at %s) holds data, and mlops does not delete a data volume because a block disappeared. Put the block back; mlops destroy deletes the volume with its instance, after listing it.",
				getString(had, "id"), size, getString(had, "mount"))
		}
		return cty.NullVal(ty), nil, nil
	}
	id := cty.UnknownVal(cty.String)
	if v := getString(had, "id"); v != "" {
		id = cty.StringVal(v)
	}
	planned := withAttrs(want, map[string]cty.Value{"id": id, "attached": cty.True})
	if had.IsNull() {
		var notes []string
		if !prior.IsNull() {
			size, _ := getInt(want, "size_gb")
			notes = append(notes, fmt.Sprintf("a blank data volume of %d GiB is created and attached, then formatted and mounted on the host", size))
		}
		return planned, notes, nil
	}
	var notes []string
	if !getBool(had, "attached", true) {
		notes = append(notes, fmt.Sprintf("data volume %s is not attached to the instance: it is attached again", getString(had, "id")))
	}
	newSize, newKnown := getInt(want, "size_gb")
	oldSize, oldKnown := getInt(had, "size_gb")
	switch {
	case newKnown && oldKnown && newSize < oldSize:
		return planned, nil, errorDiag("A data volume cannot shrink",
			"data_volume.size_gb is %d GiB, but volume %s already has %d GiB: EBS volumes grow and never shrink. Set size_gb = %d or more.",
			newSize, getString(had, "id"), oldSize, oldSize)
	case newKnown && oldKnown && newSize > oldSize:
		notes = append(notes, fmt.Sprintf("data volume %s grows from %d to %d GiB in place; its file system is grown on the host", getString(had, "id"), oldSize, newSize))
	}
	if t, o := getString(want, "type"), getString(had, "type"); t != "" && o != "" && t != o {
		notes = append(notes, fmt.Sprintf("data volume %s changes type from %s to %s in place", getString(had, "id"), o, t))
	}
	return planned, notes, nil
}

// replaceLoses is what replacing an instance destroys, for the plan.
func replaceLoses(prior cty.Value) string {
	disk := "root disk"
	if n, ok := getInt(prior, "disk_gb"); ok {
		disk = fmt.Sprintf("%d GB root disk", n)
	}
	if dv := getAttr(prior, "data_volume"); !dv.IsNull() && dv.IsKnown() {
		return fmt.Sprintf("replacing destroys the %s and everything on it that is not on the data volume (%s, %s, is kept and attached to the new instance)",
			disk, getString(dv, "id"), getString(dv, "mount"))
	}
	return "replacing destroys the " + disk + " and everything on it (the software the layers installed is installed again; anything else is lost)"
}

// dataVolumeIDs maps each recorded instance's ID to its data volume's ID,
// so the refresh reads each data volume with its instance.
func dataVolumeIDs(objs []providers.ResourceObject) map[string]string {
	ids := map[string]string{}
	for _, o := range objs {
		if id := getString(getAttr(o.State, "data_volume"), "id"); id != "" {
			ids[getString(o.State, "id")] = id
		}
	}
	return ids
}

// withDataVolume sets the data_volume of an instance state from the volume
// as EC2 describes it; prior gives the mount point, which only the
// configuration knows. A volume that is not found leaves it null.
func withDataVolume(st, prior cty.Value, vols map[string]types.Volume) cty.Value {
	had := getAttr(prior, "data_volume")
	if st.IsNull() || had.IsNull() || !had.IsKnown() {
		return st
	}
	vol, ok := vols[getString(had, "id")]
	if !ok {
		return st
	}
	return withAttrs(st, map[string]cty.Value{"data_volume": dataVolumeValue(vol, getAttr(had, "mount"), getString(st, "id"))})
}

// dataVolumeValue is the data_volume of instance instID's state.
func dataVolumeValue(vol types.Volume, mount cty.Value, instID string) cty.Value {
	size := cty.NullVal(cty.Number)
	if vol.Size != nil {
		size = cty.NumberIntVal(int64(*vol.Size))
	}
	attached := false
	for _, a := range vol.Attachments {
		if deref(a.InstanceId) == instID && (a.State == types.VolumeAttachmentStateAttached || a.State == types.VolumeAttachmentStateAttaching) {
			attached = true
		}
	}
	return objectOf(&instanceSchema().Block.BlockTypes["data_volume"].Block, map[string]cty.Value{
		"id":       cty.StringVal(deref(vol.VolumeId)),
		"size_gb":  size,
		"type":     stringOrNull(string(vol.VolumeType)),
		"mount":    conformTo(mount, cty.String),
		"attached": cty.BoolVal(attached),
	})
}

// describeVolumesByID reads volumes by ID, filtering on volume-id
// (VolumeIds fails as a whole when one of them is gone): one call for up to
// 200 IDs, EC2's limit of values in one filter (FilterLimitExceeded).
func describeVolumesByID(ctx context.Context, c *ec2.Client, ids []string) (map[string]types.Volume, error) {
	found := map[string]types.Volume{}
	for start := 0; start < len(ids); start += maxFilterValues {
		part, err := describeVolumes(ctx, c, []types.Filter{{Name: awssdk.String("volume-id"), Values: ids[start:min(start+maxFilterValues, len(ids))]}})
		if err != nil {
			return nil, err
		}
		for id, v := range part {
			found[id] = v
		}
	}
	return found, nil
}

func describeVolumes(ctx context.Context, c *ec2.Client, filters []types.Filter) (map[string]types.Volume, error) {
	in := &ec2.DescribeVolumesInput{Filters: filters}
	found := map[string]types.Volume{}
	for {
		out, err := c.DescribeVolumes(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range out.Volumes {
			found[deref(v.VolumeId)] = v
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return found, nil
		}
		in.NextToken = out.NextToken
	}
}

// dataVolumeTags are the ownership tags of an instance's data volume: its
// own address, TYPE.NAME.data_volume.
func dataVolumeTags(reqTags map[string]string) map[string]string {
	if reqTags[tagStack] == "" || reqTags[tagAddress] == "" {
		return nil
	}
	return map[string]string{tagStack: reqTags[tagStack], tagAddress: reqTags[tagAddress] + "." + DataVolumeStep}
}

// ownedDataVolume finds the live data volume tagged for the request's
// instance (the oldest when there are several).
func ownedDataVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) (*types.Volume, error) {
	tags := dataVolumeTags(req.Tags)
	filters := ownerFilters(tags)
	if filters == nil {
		return nil, nil
	}
	found, err := describeVolumes(ctx, c, filters)
	if err != nil {
		return nil, err
	}
	var owned []types.Volume
	for _, v := range found {
		if hasOwnerTags(v.Tags, tags) && (v.State == volumeCreating || v.State == volumeAvailable || v.State == volumeInUse) {
			owned = append(owned, v)
		}
	}
	if len(owned) == 0 {
		return nil, nil
	}
	sort.Slice(owned, func(i, j int) bool {
		ti, tj := owned[i].CreateTime, owned[j].CreateTime
		if ti != nil && tj != nil && !ti.Equal(*tj) {
			return ti.Before(*tj)
		}
		return deref(owned[i].VolumeId) < deref(owned[j].VolumeId)
	})
	return &owned[0], nil
}

// findDataVolume returns the instance's data volume if it exists: the one
// the prior state records, else the one tagged for it.
func findDataVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) (*types.Volume, error) {
	if id := getString(getAttr(req.Prior, "data_volume"), "id"); id != "" {
		found, err := describeVolumesByID(ctx, c, []string{id})
		if err != nil {
			return nil, err
		}
		if v, ok := found[id]; ok {
			return &v, nil
		}
	}
	return ownedDataVolume(ctx, c, req)
}

// dataVolumeZone is the availability zone a new instance must be started
// in to reach its existing data volume ("" when it has none yet, or when
// the configuration picks a subnet, which decides the zone).
func dataVolumeZone(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) (string, error) {
	if getAttr(req.Config, "data_volume").IsNull() || getString(req.Config, "subnet_id") != "" {
		return "", nil
	}
	v, err := findDataVolume(ctx, c, req)
	if err != nil || v == nil {
		return "", err
	}
	return deref(v.AvailabilityZone), nil
}

// ensureDataVolume makes the configured data volume exist, be attached to
// the instance and have the configured size and type. It returns the
// volume as it ends up (nil when none is configured).
func (p *Provider) ensureDataVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance) (*types.Volume, hcl.Diagnostics) {
	cfg := getAttr(req.Config, "data_volume")
	if cfg.IsNull() {
		return nil, nil
	}
	instID := deref(inst.InstanceId)
	zone := ""
	if inst.Placement != nil {
		zone = deref(inst.Placement.AvailabilityZone)
	}
	size, _ := getInt(cfg, "size_gb")
	vtype := getString(cfg, "type")
	if vtype == "" {
		vtype = "gp3"
	}
	vol, err := findDataVolume(ctx, c, req)
	if err != nil {
		return nil, apiDiag("looking for the data volume of "+req.Addr.String(), err)
	}
	if vol == nil {
		tags := dataVolumeTags(req.Tags)
		vol, err = p.createVolume(ctx, c, req, &ec2.CreateVolumeInput{
			AvailabilityZone:  awssdk.String(zone),
			Size:              awssdk.Int32(int32(size)),
			VolumeType:        types.VolumeType(vtype),
			ClientToken:       awssdk.String(newClientToken()),
			TagSpecifications: tagSpecs(createTags(tags, getStringMap(req.Config, "tags")), types.ResourceTypeVolume),
		})
		if err != nil {
			return nil, apiDiag("creating the data volume of "+req.Addr.String(), err)
		}
		progress(req, "created data volume %s (%d GiB %s) in %s", deref(vol.VolumeId), size, vtype, zone)
	} else {
		progress(req, "found data volume %s (%d GiB)", deref(vol.VolumeId), awssdk.ToInt32(vol.Size))
	}
	volID := deref(vol.VolumeId)
	if z := deref(vol.AvailabilityZone); z != "" && zone != "" && z != zone {
		return vol, errorDiag("Data volume in another availability zone",
			"Data volume %s is in %s, but instance %s runs in %s: EBS volumes attach only within their zone. Choose a subnet_id in %s.", volID, z, instID, zone, z)
	}
	attachedTo := func(v types.Volume) string {
		for _, a := range v.Attachments {
			if deref(a.InstanceId) != "" && a.State != types.VolumeAttachmentStateDetached {
				return deref(a.InstanceId)
			}
		}
		return ""
	}
	if other := attachedTo(*vol); other != "" && other != instID {
		// The old instance of a replacement lets go of it as it
		// terminates; any other owner keeps it.
		oi, found, err := describeOneInstance(ctx, c, other)
		if err != nil {
			return vol, apiDiag("reading EC2 instance "+other, err)
		}
		if found && !isGone(oi) {
			return vol, errorDiag("Data volume attached elsewhere",
				"Data volume %s is attached to instance %s, which is not %s; mlops does not take a volume away from a running instance. Detach it there first.", volID, other, instID)
		}
	}
	v, err := p.waitVolume(ctx, c, volID, func(v types.Volume) bool {
		return v.State == volumeAvailable || (v.State == volumeInUse && attachedTo(v) == instID)
	})
	if err != nil {
		return vol, apiDiag("waiting for data volume "+volID, err)
	}
	vol = &v
	if attachedTo(*vol) != instID {
		progress(req, "attaching data volume %s to %s", volID, instID)
		if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{
			Device: awssdk.String(dataVolumeDevice), InstanceId: awssdk.String(instID), VolumeId: awssdk.String(volID),
		}); err != nil {
			return vol, apiDiag("attaching data volume "+volID+" to "+instID, err)
		}
		v, err := p.waitVolume(ctx, c, volID, func(v types.Volume) bool {
			for _, a := range v.Attachments {
				if deref(a.InstanceId) == instID && a.State == types.VolumeAttachmentStateAttached {
					return true
				}
			}
			return false
		})
		if err != nil {
			return vol, apiDiag("waiting for data volume "+volID+" to be attached", err)
		}
		vol = &v
	}
	have := awssdk.ToInt32(vol.Size)
	grow := int64(have) < size
	retype := string(vol.VolumeType) != vtype
	if grow || retype {
		in := &ec2.ModifyVolumeInput{VolumeId: awssdk.String(volID)}
		if grow {
			in.Size = awssdk.Int32(int32(size))
			progress(req, "growing data volume %s from %d to %d GiB", volID, have, size)
		}
		if retype {
			in.VolumeType = types.VolumeType(vtype)
			progress(req, "changing the type of data volume %s from %s to %s", volID, vol.VolumeType, vtype)
		}
		if _, err := c.ModifyVolume(ctx, in); err != nil {
			return vol, apiDiag("modifying data volume "+volID, err)
		}
		if err := p.waitVolumeModified(ctx, c, volID); err != nil {
			return vol, apiDiag("waiting for the modification of data volume "+volID, err)
		}
		found, err := describeVolumesByID(ctx, c, []string{volID})
		if err != nil {
			return vol, apiDiag("reading data volume "+volID, err)
		}
		if v, ok := found[volID]; ok {
			vol = &v
		}
	}
	return vol, nil
}

// waitVolume polls the volume until done accepts it.
func (p *Provider) waitVolume(ctx context.Context, c *ec2.Client, id string, done func(types.Volume) bool) (types.Volume, error) {
	var last types.Volume
	err := p.poll(ctx, "volume "+id, func() (bool, error) {
		found, err := describeVolumesByID(ctx, c, []string{id})
		if err != nil {
			return false, err
		}
		v, ok := found[id]
		if !ok {
			return false, fmt.Errorf("volume %s does not exist (any more)", id)
		}
		last = v
		if v.State == types.VolumeStateError || v.State == types.VolumeStateDeleting || v.State == types.VolumeStateDeleted {
			return false, fmt.Errorf("volume %s is %s", id, v.State)
		}
		return done(v), nil
	})
	return last, err
}

// waitVolumeModified waits until the volume's last modification is
// optimizing or completed: from then on the instance sees the new size.
func (p *Provider) waitVolumeModified(ctx context.Context, c *ec2.Client, id string) error {
	return p.poll(ctx, "the modification of volume "+id, func() (bool, error) {
		out, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{id}})
		if err != nil {
			return false, err
		}
		if len(out.VolumesModifications) == 0 {
			return true, nil
		}
		m := out.VolumesModifications[len(out.VolumesModifications)-1]
		switch m.ModificationState {
		case types.VolumeModificationStateOptimizing, types.VolumeModificationStateCompleted:
			return true, nil
		case types.VolumeModificationStateFailed:
			return false, fmt.Errorf("the modification of volume %s failed: %s", id, deref(m.StatusMessage))
		}
		return false, nil
	})
}

// deleteDataVolume deletes the data volume of a destroyed instance (its
// instance is terminated); the delete half of a replacement keeps it.
func (p *Provider) deleteDataVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) hcl.Diagnostics {
	id := getString(getAttr(req.Prior, "data_volume"), "id")
	if id == "" {
		return nil
	}
	size, _ := getInt(getAttr(req.Prior, "data_volume"), "size_gb")
	if req.Replacing {
		progress(req, "kept data volume %s (%d GiB) for the new instance", id, size)
		return nil
	}
	if _, err := p.waitVolume(ctx, c, id, func(v types.Volume) bool { return v.State == volumeAvailable }); err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil
		}
		return apiDiag("waiting for data volume "+id+" to be detached", err)
	}
	progress(req, "deleting data volume %s (%d GiB)", id, size)
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(id)}); err != nil && errorCode(err) != "InvalidVolume.NotFound" {
		return errorDiag("Error deleting data volume "+id,
			"The instance is terminated, but deleting its data volume %s (%d GiB) failed: %s. Delete it yourself once you have what you need from it.", id, size, describeError(err))
	}
	return nil
}

// withAttachedVolume sets the data_volume of an instance's new state from
// the volume ensureDataVolume left attached, with the configured mount point.
func withAttachedVolume(st, cfg cty.Value, vol *types.Volume) cty.Value {
	if vol == nil || st.IsNull() {
		return st
	}
	return withAttrs(st, map[string]cty.Value{"data_volume": dataVolumeValue(*vol, getAttr(getAttr(cfg, "data_volume"), "mount"), getString(st, "id"))})
}

// createVolume calls CreateVolume without the SDK's own retries, for the
// reason runInstance gives: after a failure that may have reached EC2, it
// looks for the volume tagged for the instance before trying again, so a
// lost answer never leaves a second volume.
func (p *Provider) createVolume(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, in *ec2.CreateVolumeInput) (*types.Volume, error) {
	retryer := c.Options().Retryer
	for attempt := 1; ; attempt++ {
		out, err := c.CreateVolume(ctx, in, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			return &types.Volume{VolumeId: out.VolumeId, AvailabilityZone: out.AvailabilityZone, Size: out.Size,
				VolumeType: out.VolumeType, State: out.State, Tags: out.Tags}, nil
		}
		if attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return nil, err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		if serr := p.opts.Sleep(ctx, delay); serr != nil {
			return nil, err
		}
		owned, lerr := ownedDataVolume(ctx, c, req)
		if lerr != nil {
			return nil, fmt.Errorf("%w (then looking for a volume it may have created: %s)", err, describeError(lerr))
		}
		if owned != nil {
			progress(req, "CreateVolume failed (%s), but it had created %s", describeError(err), deref(owned.VolumeId))
			return owned, nil
		}
	}
}
