package aws

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// Instance states. An instance that is shutting-down or terminated is gone
// as far as mlops is concerned.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
)

// NoteRestart is the plan note of an instance type change on a running instance.
const NoteRestart = "the instance will be stopped and started (restart)"

// instanceComputed are the attributes only EC2 knows.
var instanceComputed = []string{"id", "public_ip", "private_ip", "public_dns", "instance_state", "availability_zone", "root_volume_id"}

func isGone(inst types.Instance) bool {
	if inst.State == nil {
		return false
	}
	s := string(inst.State.Name)
	return s == stateShuttingDown || s == stateTerminated
}

func stateOf(inst types.Instance) string {
	if inst.State == nil {
		return ""
	}
	return string(inst.State.Name)
}

func planInstance(req providers.PlanChangeRequest) providers.PlanChangeResponse {
	cfg, prior := req.Config, req.Prior
	planned := cfg
	unknowns := map[string]cty.Value{"tags": plannedTags(prior, cfg)}
	for _, a := range instanceComputed {
		unknowns[a] = cty.UnknownVal(cty.String)
	}
	// Optional and computed: unset means "whatever EC2 chose".
	for _, a := range []string{"security_groups", "disk_gb", "subnet_id"} {
		if getAttr(cfg, a).IsKnown() && getAttr(cfg, a).IsNull() {
			if prior.IsNull() {
				unknowns[a] = cty.UnknownVal(cfg.Type().AttributeType(a))
			} else {
				unknowns[a] = getAttr(prior, a)
			}
		}
	}
	dv, dvNotes, diags := planDataVolume(prior, cfg)
	if diags.HasErrors() {
		return providers.PlanChangeResponse{Diagnostics: diags}
	}
	unknowns["data_volume"] = dv
	// Defaults for new instances only (an existing or imported one keeps
	// what it has unless the configuration says otherwise): gp3, IMDSv2.
	for a, def := range map[string]cty.Value{"root_volume_type": cty.StringVal("gp3"), "imdsv2": cty.True} {
		if getAttr(cfg, a).IsKnown() && getAttr(cfg, a).IsNull() {
			if prior.IsNull() {
				unknowns[a] = def
			} else {
				unknowns[a] = getAttr(prior, a)
			}
		}
	}
	planned = withAttrs(planned, unknowns)
	if prior.IsNull() {
		return providers.PlanChangeResponse{Planned: planned}
	}

	var replace []cty.Path
	for _, a := range []string{"ami", "key_pair", "user_data"} {
		if changed(prior, cfg, a) {
			replace = append(replace, cty.GetAttrPath(a))
		}
	}
	if !(getAttr(cfg, "subnet_id").IsKnown() && getAttr(cfg, "subnet_id").IsNull()) && changed(prior, cfg, "subnet_id") {
		replace = append(replace, cty.GetAttrPath("subnet_id"))
	}
	newDisk, newKnown := getInt(cfg, "disk_gb")
	oldDisk, oldKnown := getInt(prior, "disk_gb")
	if newKnown && oldKnown && newDisk < oldDisk {
		// EBS volumes grow but never shrink.
		replace = append(replace, cty.GetAttrPath("disk_gb"))
	}
	if len(replace) > 0 || req.Replace {
		return providers.PlanChangeResponse{Planned: planned, RequiresReplace: replace, ReplaceLoses: replaceLoses(prior)}
	}

	// In place: what EC2 knows stays, unless a stop or start changes it.
	keep := map[string]cty.Value{"stop_reason": getAttr(prior, "stop_reason"), "launch_time": getAttr(prior, "launch_time")}
	if getAttr(prior, "shutdown_behavior").IsNull() && shutdownBehavior(cfg).AsString() == defaultShutdownBehavior {
		// Recorded before mlops kept it: EC2's default, which is what is wanted.
		keep["shutdown_behavior"] = cty.NullVal(cty.String)
	}
	for _, a := range instanceComputed {
		keep[a] = getAttr(prior, a)
	}
	var notes []string
	priorRunning := getBool(prior, "running", true)
	wantRunning := getBool(cfg, "running", true)
	typeChange := changed(prior, cfg, "instance_type")
	restart := typeChange && priorRunning
	if restart {
		notes = append(notes, NoteRestart)
	}
	if changed(prior, cfg, "elastic_ip") {
		keep["public_ip"], keep["public_dns"] = cty.UnknownVal(cty.String), cty.UnknownVal(cty.String)
	}
	if restart || (priorRunning != wantRunning) || isUnknown(cfg, "running") {
		// A stop releases the public address; a start gets a new one.
		keep["public_ip"] = cty.UnknownVal(cty.String)
		keep["launch_time"] = cty.UnknownVal(cty.String)
		keep["public_dns"] = cty.UnknownVal(cty.String)
		switch {
		case isUnknown(cfg, "running"):
			keep["instance_state"] = cty.UnknownVal(cty.String)
			keep["stop_reason"] = cty.UnknownVal(cty.String)
		case wantRunning:
			keep["instance_state"] = cty.StringVal(stateRunning)
			keep["stop_reason"] = cty.NullVal(cty.String)
		default:
			keep["instance_state"] = cty.StringVal(stateStopped)
			keep["stop_reason"] = cty.UnknownVal(cty.String)
		}
	}
	if why := getString(prior, "stop_reason"); why != "" && !priorRunning && wantRunning && !isUnknown(cfg, "running") {
		notes = append(notes, "the instance was "+why+"; running = true starts it again")
	}
	if priorRunning && !wantRunning && !isUnknown(cfg, "running") {
		notes = append(notes, "the instance will be stopped (its disk is kept)")
	}
	if newKnown && oldKnown && newDisk > oldDisk {
		notes = append(notes, fmt.Sprintf("the root volume grows from %d to %d GiB (an EBS modification: the next one is possible 6 hours later); with an ssh block, mlops grows the file system over SSH (growpart, resize2fs), else it follows at the next boot", oldDisk, newDisk))
	}
	if pt, ct := getString(prior, "root_volume_type"), getString(cfg, "root_volume_type"); pt != "" && ct != "" && pt != ct {
		notes = append(notes, fmt.Sprintf("the root volume changes type from %s to %s in place (an EBS modification: the next one is possible 6 hours later)", pt, ct))
	}
	return providers.PlanChangeResponse{Planned: withAttrs(planned, keep), Notes: append(notes, dvNotes...)}
}

// instanceResource is aws_instance's entry in the type table.
func (p *Provider) instanceResource() resourceType {
	return resourceType{
		name: "aws_instance", schema: instanceSchema, plan: planInstance,
		create: p.createInstance, update: p.updateInstance, delete: p.deleteInstance,
		refresh: p.refreshInstances, importID: p.importInstance,
	}
}

func (p *Provider) updateInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	inst, found, err := describeOneInstance(ctx, c, id)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("reading EC2 instance "+id, err)}
	}
	if !found {
		return providers.ApplyChangeResponse{NewState: cty.NullVal(instanceSchema().ImpliedType()),
			Diagnostics: errorDiag("Instance not found", "EC2 instance %s does not exist (any more); plan again to create a new one.", id)}
	}
	return p.convergeInstance(ctx, c, req, inst, req.Prior)
}

func (p *Provider) createInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	cfg := req.Config
	null := cty.NullVal(instanceSchema().ImpliedType())

	// Adoption: an instance tagged for this stack and address was created
	// by an earlier run that died before recording it.
	if ownerFilters(req.Tags) != nil {
		owned, err := ownedInstances(ctx, c, req)
		if err != nil {
			return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("looking for an EC2 instance tagged for "+req.Addr.String(), err)}
		}
		if len(owned) > 0 {
			return p.adoptInstance(ctx, c, req, owned)
		}
	}

	in := &ec2.RunInstancesInput{
		ImageId:      awssdk.String(getString(cfg, "ami")),
		InstanceType: types.InstanceType(getString(cfg, "instance_type")),
		MinCount:     awssdk.Int32(1),
		MaxCount:     awssdk.Int32(1),
		ClientToken:  awssdk.String(newClientToken()),
		// A shutdown from inside stops the machine (see shutdownBehavior).
		InstanceInitiatedShutdownBehavior: types.ShutdownBehavior(shutdownBehavior(cfg).AsString()),
		TagSpecifications: tagSpecs(createTags(req.Tags, getStringMap(cfg, "tags")),
			types.ResourceTypeInstance, types.ResourceTypeVolume),
	}
	if k := getString(cfg, "key_pair"); k != "" {
		in.KeyName = awssdk.String(k)
	}
	if sgs := getStrings(cfg, "security_groups"); len(sgs) > 0 {
		in.SecurityGroupIds = sgs
	}
	if s := getString(cfg, "subnet_id"); s != "" {
		in.SubnetId = awssdk.String(s)
	}
	if u := getString(cfg, "user_data"); u != "" {
		in.UserData = awssdk.String(base64.StdEncoding.EncodeToString([]byte(u)))
	}
	if zone, err := dataVolumeZone(ctx, c, req); err != nil {
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("looking for the data volume of "+req.Addr.String(), err)}
	} else if zone != "" {
		// The instance must run where its data volume is.
		in.Placement = &types.Placement{AvailabilityZone: awssdk.String(zone)}
	}
	in.MetadataOptions = metadataOptions(req.Planned)
	if size, ok := getInt(cfg, "disk_gb"); ok || getString(req.Planned, "root_volume_type") != "" {
		device, imageSize := rootImageInfo(ctx, c, getString(cfg, "ami"))
		ebs := &types.EbsBlockDevice{DeleteOnTermination: awssdk.Bool(true), VolumeType: types.VolumeType(getString(req.Planned, "root_volume_type"))}
		switch {
		case ok:
			ebs.VolumeSize = awssdk.Int32(int32(size))
		case imageSize > 0:
			ebs.VolumeSize = awssdk.Int32(imageSize) // the image's own size, said out loud
		}
		in.BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: awssdk.String(device), Ebs: ebs}}
	}
	out, owned, err := p.runInstance(ctx, c, req, in)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("creating EC2 instance of type "+string(in.InstanceType), err)}
	}
	if len(owned) > 0 {
		return p.adoptInstance(ctx, c, req, owned)
	}
	if len(out.Instances) == 0 {
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: errorDiag("Error creating EC2 instance", "creating EC2 instance: RunInstances returned no instance")}
	}
	inst := out.Instances[0]
	id := deref(inst.InstanceId)
	size, sizeKnown := getInt(cfg, "disk_gb")
	partial := knownOnly(instanceState(inst, size, sizeKnown, req.Planned))
	if req.Created != nil {
		req.Created(partial)
	}
	progress(req, "created %s; waiting for it to be running", id)
	if err = p.waitInstanceVisible(ctx, c, id); err == nil {
		inst, err = p.waitInstance(ctx, c, id, stateRunning)
	}
	if err != nil {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: apiDiag("waiting for EC2 instance "+id+" to run", err)}
	}
	vol, d := p.ensureDataVolume(ctx, c, req, inst)
	if d.HasErrors() {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: d}
	}
	if !getBool(cfg, "running", true) {
		progress(req, "stopping %s (running = false)", id)
		if inst, err = p.stopInstance(ctx, c, id); err != nil {
			return providers.ApplyChangeResponse{NewState: partial, Diagnostics: apiDiag("stopping EC2 instance "+id, err)}
		}
	}
	if inst, err = p.syncElasticIP(ctx, c, req, inst); err != nil {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: apiDiag("associating the Elastic IP of EC2 instance "+id, err)}
	}
	state, d := p.instanceWithVolume(ctx, c, inst, req.Planned)
	if d.HasErrors() {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: d}
	}
	return providers.ApplyChangeResponse{NewState: withAttachedVolume(state, req.Config, vol), Diagnostics: p.reachabilityWarnings(ctx, c, req, inst)}
}

// ownedInstances returns the live instances tagged for the request's stack
// and address, oldest first.
func ownedInstances(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) ([]types.Instance, error) {
	filters := append(ownerFilters(req.Tags), types.Filter{Name: awssdk.String("instance-state-name"),
		Values: []string{statePending, stateRunning, stateStopping, stateStopped}})
	found, err := describeInstances(ctx, c, filters)
	if err != nil {
		return nil, err
	}
	var owned []types.Instance
	for _, inst := range found {
		if hasOwnerTags(inst.Tags, req.Tags) && !isGone(inst) {
			owned = append(owned, inst)
		}
	}
	sort.Slice(owned, func(i, j int) bool {
		ti, tj := owned[i].LaunchTime, owned[j].LaunchTime
		if ti != nil && tj != nil && !ti.Equal(*tj) {
			return ti.Before(*tj)
		}
		return deref(owned[i].InstanceId) < deref(owned[j].InstanceId)
	})
	return owned, nil
}

// adoptInstance takes the oldest of the owned instances (at least one) as
// the request's object and converges it; the others are left alone, with a
// warning.
func (p *Provider) adoptInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, owned []types.Instance) providers.ApplyChangeResponse {
	var diags hcl.Diagnostics
	inst := owned[0]
	if len(owned) > 1 {
		var others []string
		for _, o := range owned[1:] {
			others = append(others, deref(o.InstanceId))
		}
		diags = append(diags, warningDiag("Several instances tagged for one address",
			"Instances %s are also tagged for %s; mlops adopted %s and leaves the others alone. Terminate them if they are leftovers.",
			strings.Join(others, ", "), req.Addr, deref(inst.InstanceId))...)
	}
	progress(req, "adopted existing %s tagged for this address", deref(inst.InstanceId))
	// Found by its tags, it may still be missing from reads by ID.
	if err := p.waitInstanceVisible(ctx, c, deref(inst.InstanceId)); err != nil {
		return providers.ApplyChangeResponse{NewState: cty.NullVal(instanceSchema().ImpliedType()), Diagnostics: apiDiag("reading adopted EC2 instance "+deref(inst.InstanceId), err)}
	}
	partial := knownOnly(instanceState(inst, 0, false, req.Planned))
	if req.Created != nil {
		req.Created(partial)
	}
	resp := p.convergeInstance(ctx, c, req, inst, partial)
	resp.Diagnostics = append(diags, resp.Diagnostics...)
	return resp
}

// runInstance calls RunInstances without the SDK's own retries. Wherever
// ClientToken is not honoured (moto ignores it), every call starts a
// machine, so an SDK retry after an answer lost on its way back would start
// a second one. After a failure the retryer deems retryable (a connection
// error, a 5xx, throttling), the request may have been carried out, so
// runInstance first looks for an instance tagged for the address and, when
// there is one, returns it (owned) instead of calling RunInstances again.
// Only when there is none does it try again, with the same ClientToken.
func (p *Provider) runInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, in *ec2.RunInstancesInput) (*ec2.RunInstancesOutput, []types.Instance, error) {
	retryer := c.Options().Retryer
	for attempt := 1; ; attempt++ {
		out, err := c.RunInstances(ctx, in, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
		if err == nil || attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return out, nil, err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, nil, err
		}
		if serr := p.opts.Sleep(ctx, delay); serr != nil {
			return nil, nil, err
		}
		if ownerFilters(req.Tags) == nil {
			continue
		}
		owned, lerr := ownedInstances(ctx, c, req)
		if lerr != nil {
			return nil, nil, fmt.Errorf("%w (then looking for an instance it may have started: %s)", err, describeError(lerr))
		}
		if len(owned) > 0 {
			progress(req, "RunInstances failed (%s), but it had started %s", describeError(err), deref(owned[0].InstanceId))
			return nil, owned, nil
		}
	}
}

// convergeInstance updates an existing instance to the planned
// configuration: security groups, tags, root volume size, instance type and
// running state, in that order. current is the best known state, returned
// on error.
func (p *Provider) convergeInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, inst types.Instance, current cty.Value) providers.ApplyChangeResponse {
	cfg := req.Config
	id := deref(inst.InstanceId)
	fail := func(what string, err error) providers.ApplyChangeResponse {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: apiDiag(what+" "+id, err)}
	}

	var warnings hcl.Diagnostics
	if want := getStrings(cfg, "security_groups"); isSet(cfg, "security_groups") && !sameSet(want, groupIDs(inst)) {
		progress(req, "setting the security groups of %s", id)
		if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: awssdk.String(id), Groups: want}); err != nil {
			return fail("changing the security groups of EC2 instance", err)
		}
		for _, w := range p.deleteHoldingGroups(ctx, c, req, inst.SecurityGroups, want) {
			warnings = append(warnings, warningDiag("Holding group left behind", "%s", w)...)
		}
	}
	if err := syncTags(ctx, c, id, userTags(inst.Tags), getStringMap(cfg, "tags")); err != nil {
		return fail("tagging EC2 instance", err)
	}
	vol, d := p.ensureDataVolume(ctx, c, req, inst)
	if d.HasErrors() {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: d}
	}
	grew, d := p.modifyRootVolume(ctx, c, req, inst)
	if d.HasErrors() {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: d}
	}
	if err := p.syncMetadataOptions(ctx, c, req, inst); err != nil {
		return fail("setting the metadata options of EC2 instance", err)
	}
	if want := shutdownBehavior(cfg).AsString(); want != shutdownBehavior(current).AsString() {
		progress(req, "setting the shutdown behaviour of %s to %s", id, want)
		if err := setShutdownBehavior(ctx, c, id, want); err != nil {
			return fail("changing the shutdown behaviour of EC2 instance", err)
		}
	}

	state := stateOf(inst)
	wantRunning := getBool(cfg, "running", true)
	stoppedForType := false // mlops stopped a running instance to change its type
	if t := getString(cfg, "instance_type"); t != "" && t != string(inst.InstanceType) {
		if d := checkTypeFits(ctx, c, inst, t); d.HasErrors() {
			return providers.ApplyChangeResponse{NewState: current, Diagnostics: d}
		}
		if state != stateStopped {
			progress(req, "stopping %s to change its type from %s to %s", id, inst.InstanceType, t)
			var err error
			if inst, err = p.stopInstance(ctx, c, id); err != nil {
				return fail("stopping EC2 instance", err)
			}
			state = stateOf(inst)
			stoppedForType = wantRunning
		}
		if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
			InstanceId: awssdk.String(id), InstanceType: &types.AttributeValue{Value: awssdk.String(t)},
		}); err != nil {
			d := apiDiag("changing the type of EC2 instance "+id, err)
			if stoppedForType {
				// Never leave the box stopped: start it again with its old type.
				if _, serr := p.startInstance(ctx, c, id, state); serr != nil {
					d[0].Detail += "; " + stoppedNote(id) + " (starting it failed: " + describeError(serr) + ")"
				} else {
					d[0].Detail += fmt.Sprintf("; mlops started %s again with its old type %s", id, inst.InstanceType)
				}
			}
			return providers.ApplyChangeResponse{NewState: current, Diagnostics: d}
		}
	}
	switch {
	case wantRunning && state != stateRunning:
		progress(req, "starting %s", id)
		var err error
		az := azOf(inst)
		if inst, err = p.startInstance(ctx, c, id, state); err != nil {
			return providers.ApplyChangeResponse{NewState: current,
				Diagnostics: startDiag(apiDiag(fmt.Sprintf("starting EC2 instance %s (%s in %s)", id, getString(cfg, "instance_type"), az), err), stoppedForType, id)}
		}
	case !wantRunning && state != stateStopped:
		progress(req, "stopping %s (running = false)", id)
		var err error
		if inst, err = p.stopInstance(ctx, c, id); err != nil {
			return fail("stopping EC2 instance", err)
		}
	default:
		// Read back what the changes above did (security groups, tags).
		var found bool
		var err error
		if inst, found, err = describeOneInstance(ctx, c, id); err != nil {
			return fail("reading EC2 instance", err)
		} else if !found {
			return providers.ApplyChangeResponse{NewState: cty.NullVal(instanceSchema().ImpliedType()),
				Diagnostics: errorDiag("Instance not found", "EC2 instance %s disappeared while it was being updated.", id)}
		}
	}
	inst, err := p.syncElasticIP(ctx, c, req, inst)
	if err != nil {
		return fail("associating the Elastic IP of EC2 instance", err)
	}
	st, d := p.instanceWithVolume(ctx, c, inst, req.Planned)
	if d.HasErrors() {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: d}
	}
	resp := providers.ApplyChangeResponse{NewState: withAttachedVolume(st, req.Config, vol), Diagnostics: warnings}
	if grew {
		resp.HostScript = growRootScript
	}
	return resp
}

// stopInstance stops an instance and waits until it is stopped. A pending
// instance is first waited for: EC2 cannot stop it yet.
func (p *Provider) stopInstance(ctx context.Context, c *ec2.Client, id string) (types.Instance, error) {
	inst, found, err := describeOneInstance(ctx, c, id)
	if err != nil {
		return inst, err
	}
	if !found {
		return inst, fmt.Errorf("instance %s not found", id)
	}
	switch stateOf(inst) {
	case stateStopped:
		return inst, nil
	case statePending:
		if _, err := p.waitInstance(ctx, c, id, stateRunning); err != nil {
			return inst, err
		}
	}
	if stateOf(inst) != stateStopping {
		if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			return inst, err
		}
	}
	return p.waitInstance(ctx, c, id, stateStopped)
}

// startInstance starts a stopped (or stopping) instance and waits until it runs.
func (p *Provider) startInstance(ctx context.Context, c *ec2.Client, id, state string) (types.Instance, error) {
	if state == stateStopping {
		if _, err := p.waitInstance(ctx, c, id, stateStopped); err != nil {
			return types.Instance{}, err
		}
	}
	if state != statePending {
		if err := p.startInstances(ctx, c, id); err != nil {
			return types.Instance{}, err
		}
	}
	return p.waitInstance(ctx, c, id, stateRunning)
}

// waitInstance polls until the instance reaches the state. Terminated
// counts as reached when it is the target and as a failure otherwise; an
// instance not (yet) visible is polled again (EC2 is eventually consistent).
func (p *Provider) waitInstance(ctx context.Context, c *ec2.Client, id, target string) (types.Instance, error) {
	var last types.Instance
	err := p.poll(ctx, "instance "+id+" to be "+target, func() (bool, error) {
		inst, found, err := describeOneInstance(ctx, c, id)
		if err != nil {
			return false, err
		}
		if !found {
			return target == stateTerminated, nil
		}
		last = inst
		s := stateOf(inst)
		if s == target {
			return true, nil
		}
		if target != stateTerminated && isGone(inst) {
			reason := ""
			if inst.StateReason != nil {
				reason = ": " + deref(inst.StateReason.Message)
			}
			return false, fmt.Errorf("instance %s is %s%s", id, s, reason)
		}
		return false, nil
	})
	return last, err
}

func (p *Provider) deleteInstance(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	null := cty.NullVal(instanceSchema().ImpliedType())
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		if errorCode(err) == "InvalidInstanceID.NotFound" {
			return providers.ApplyChangeResponse{NewState: null}
		}
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("terminating EC2 instance "+id, err)}
	}
	progress(req, "terminating %s; waiting for it to be gone", id)
	if _, err := p.waitInstance(ctx, c, id, stateTerminated); err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("waiting for EC2 instance "+id+" to terminate", err)}
	}
	return providers.ApplyChangeResponse{NewState: null, Diagnostics: p.deleteDataVolume(ctx, c, req)}
}

// describeInstances lists the instances matching the filters.
func describeInstances(ctx context.Context, c *ec2.Client, filters []types.Filter) ([]types.Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: filters}
	var out []types.Instance
	for {
		page, err := c.DescribeInstances(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// describeInstancesByID reads instances by ID with one call. It filters on
// instance-id rather than passing InstanceIds, which fails as a whole
// (InvalidInstanceID.NotFound) when one of them is gone.
func describeInstancesByID(ctx context.Context, c *ec2.Client, ids []string) (map[string]types.Instance, error) {
	list, err := describeInstances(ctx, c, []types.Filter{{Name: awssdk.String("instance-id"), Values: ids}})
	if err != nil {
		return nil, err
	}
	found := map[string]types.Instance{}
	for _, inst := range list {
		found[deref(inst.InstanceId)] = inst
	}
	return found, nil
}

func describeOneInstance(ctx context.Context, c *ec2.Client, id string) (types.Instance, bool, error) {
	found, err := describeInstancesByID(ctx, c, []string{id})
	if err != nil {
		return types.Instance{}, false, err
	}
	inst, ok := found[id]
	return inst, ok, nil
}

// instanceWithVolume builds the state of an instance, reading its root
// volume's size.
func (p *Provider) instanceWithVolume(ctx context.Context, c *ec2.Client, inst types.Instance, prior cty.Value) (cty.Value, hcl.Diagnostics) {
	var size int64
	var known bool
	var volType string
	if vol := rootVolumeID(inst); vol != "" {
		details, err := describeVolumesByID(ctx, c, []string{vol})
		if err != nil {
			return cty.NilVal, apiDiag("reading root volume "+vol, err)
		}
		if v, ok := details[vol]; ok && v.Size != nil {
			size, known, volType = int64(*v.Size), true, string(v.VolumeType)
		}
	}
	return withVolumeType(knownOnly(instanceState(inst, size, known, prior)), volType), nil
}

func rootVolumeID(inst types.Instance) string {
	root := deref(inst.RootDeviceName)
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs != nil && deref(m.DeviceName) == root {
			return deref(m.Ebs.VolumeId)
		}
	}
	if root == "" && len(inst.BlockDeviceMappings) == 1 && inst.BlockDeviceMappings[0].Ebs != nil {
		return deref(inst.BlockDeviceMappings[0].Ebs.VolumeId)
	}
	return ""
}

func groupIDs(inst types.Instance) []string {
	var ids []string
	for _, g := range inst.SecurityGroups {
		ids = append(ids, deref(g.GroupId))
	}
	return ids
}

func sameSet(a, b []string) bool {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		as[x] = true
	}
	for _, x := range b {
		bs[x] = true
	}
	if len(as) != len(bs) {
		return false
	}
	for x := range as {
		if !bs[x] {
			return false
		}
	}
	return true
}

// instanceState builds the state of an instance as EC2 describes it. prior
// supplies what EC2 does not return (user_data), the spelling of tags and
// the order of security groups; disk_gb comes from size when sizeKnown,
// else from prior.
func instanceState(inst types.Instance, size int64, sizeKnown bool, prior cty.Value) cty.Value {
	groups := groupIDs(inst)
	sgs := stringList(groups)
	if pg := getAttr(prior, "security_groups"); pg.IsKnown() && !pg.IsNull() && sameSet(asStrings(pg), groups) && len(asStrings(pg)) == len(groups) {
		sgs = pg
	}
	disk := getAttr(prior, "disk_gb")
	if sizeKnown {
		disk = cty.NumberIntVal(size)
	}
	s := stateOf(inst)
	az := ""
	if inst.Placement != nil {
		az = deref(inst.Placement.AvailabilityZone)
	}
	return objectOf(&instanceSchema().Block, map[string]cty.Value{
		"ami":               cty.StringVal(deref(inst.ImageId)),
		"instance_type":     cty.StringVal(string(inst.InstanceType)),
		"key_pair":          stringOrNull(deref(inst.KeyName)),
		"security_groups":   sgs,
		"disk_gb":           disk,
		"tags":              tagsValue(userTags(inst.Tags), getAttr(prior, "tags")),
		"subnet_id":         stringOrNull(deref(inst.SubnetId)),
		"running":           cty.BoolVal(s == stateRunning || s == statePending),
		"user_data":         getAttr(prior, "user_data"),
		"elastic_ip":        getAttr(prior, "elastic_ip"),
		"root_volume_type":  getAttr(prior, "root_volume_type"),
		"imdsv2":            imdsv2Of(inst, prior),
		"id":                cty.StringVal(deref(inst.InstanceId)),
		"public_ip":         stringOrNull(deref(inst.PublicIpAddress)),
		"private_ip":        stringOrNull(deref(inst.PrivateIpAddress)),
		"public_dns":        stringOrNull(deref(inst.PublicDnsName)),
		"instance_state":    stringOrNull(s),
		"availability_zone": stringOrNull(az),
		"root_volume_id":    stringOrNull(rootVolumeID(inst)),
		"shutdown_behavior": shutdownBehavior(prior),
		"stop_reason":       stringOrNull(stopReason(inst)),
		"launch_time":       launchTime(inst),
	})
}

// knownOnly replaces unknown attributes with nulls: state holds no unknowns.
func knownOnly(v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() {
		return v
	}
	vals := v.AsValueMap()
	for k, x := range vals {
		if !x.IsWhollyKnown() {
			vals[k] = cty.NullVal(x.Type())
		}
	}
	return cty.ObjectVal(vals)
}

func (p *Provider) refreshInstances(ctx context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
	// An instance's disk size lives on its root volume: one DescribeVolumes
	// for the root volumes of all live instances follows the one
	// DescribeInstances.
	type withSize struct {
		inst        types.Instance
		size        int32
		sizeIsKnown bool
		vols        map[string]types.Volume
		volType     string
	}
	dataVols := dataVolumeIDs(objs)
	describe := func(ctx context.Context, c *ec2.Client, ids []string) (map[string]withSize, error) {
		found, err := describeInstancesByID(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		var vols []string
		for _, inst := range found {
			if v := rootVolumeID(inst); v != "" && !isGone(inst) {
				vols = append(vols, v)
			}
		}
		// The data volumes of these instances are read in the same call.
		for _, id := range ids {
			if v := dataVols[id]; v != "" {
				vols = append(vols, v)
			}
		}
		sort.Strings(vols)
		described := map[string]types.Volume{}
		if len(vols) > 0 {
			if described, err = describeVolumesByID(ctx, c, vols); err != nil {
				return nil, fmt.Errorf("reading volumes: %w", err)
			}
		}
		out := make(map[string]withSize, len(found))
		for id, inst := range found {
			v, known := described[rootVolumeID(inst)]
			out[id] = withSize{inst, awssdk.ToInt32(v.Size), known && v.Size != nil, described, string(v.VolumeType)}
		}
		return out, nil
	}
	return batchRead[withSize]{
		what: "EC2 instances", key: "id", null: cty.NullVal(instanceSchema().ImpliedType()),
		describe: describe,
		state: func(w withSize, prior cty.Value) (cty.Value, bool) {
			if isGone(w.inst) {
				return cty.NilVal, false
			}
			return withVolumeType(withDataVolume(knownOnly(instanceState(w.inst, int64(w.size), w.sizeIsKnown, prior)), prior, w.vols), w.volType), true
		},
	}.run(ctx, p, objs)
}

func (p *Provider) importInstance(ctx context.Context, c *ec2.Client, req providers.ImportRequest) providers.ImportResponse {
	if !strings.HasPrefix(req.ID, "i-") {
		return providers.ImportResponse{Diagnostics: errorDiag("Invalid instance ID", "%q is not an EC2 instance ID (i-...).", req.ID)}
	}
	inst, found, err := describeOneInstance(ctx, c, req.ID)
	if err != nil {
		return providers.ImportResponse{Diagnostics: apiDiag("reading EC2 instance "+req.ID, err)}
	}
	if !found || isGone(inst) {
		return providers.ImportResponse{Diagnostics: errorDiag("Instance not found", "There is no EC2 instance %s in this region (or it is terminated).", req.ID)}
	}
	prior := cty.NullVal(instanceSchema().ImpliedType())
	// EC2 returns user data only on request; an imported instance's user
	// data must be known, or the first plan would replace it.
	attr, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(req.ID), Attribute: types.InstanceAttributeNameUserData})
	if err != nil {
		return providers.ImportResponse{Diagnostics: apiDiag("reading the user data of EC2 instance "+req.ID, err)}
	}
	if attr.UserData != nil && deref(attr.UserData.Value) != "" {
		data, err := base64.StdEncoding.DecodeString(deref(attr.UserData.Value))
		if err != nil {
			data = []byte(deref(attr.UserData.Value))
		}
		prior = objectOf(&instanceSchema().Block, map[string]cty.Value{"user_data": cty.StringVal(string(data))})
	}
	state, diags := p.instanceWithVolume(ctx, c, inst, prior)
	if diags.HasErrors() {
		return providers.ImportResponse{Diagnostics: diags}
	}
	return providers.ImportResponse{State: state}
}

// newClientToken makes RunInstances idempotent across the SDK's own retries
// of one call (moto ignores it; the ownership tags are the real guard).
func newClientToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return ""
	}
	return "mlops-" + hex.EncodeToString(b)
}
