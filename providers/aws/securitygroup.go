package aws

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// Ingress rules are compared as sets of permissions, one per (protocol,
// port range, CIDR block): configuration groups them in rules, EC2 groups
// them by port range, and neither grouping matters. Egress is never touched.

// permission is one allowed (protocol, port range, source) triple. For icmp
// and -1 (all traffic) the ports are -1.
type permission struct {
	proto    string
	from, to int32
	cidr     string // canonical form (net.IPNet.String)
}

func (p permission) String() string {
	switch p.proto {
	case "-1":
		return "all traffic from " + p.cidr
	case "icmp":
		if p.from != -1 {
			return fmt.Sprintf("icmp type %d code %d from %s", p.from, p.to, p.cidr)
		}
		return "icmp from " + p.cidr
	}
	if p.from == p.to {
		return fmt.Sprintf("%s/%d from %s", p.proto, p.from, p.cidr)
	}
	return fmt.Sprintf("%s/%d-%d from %s", p.proto, p.from, p.to, p.cidr)
}

func canonicalCIDR(s string) string {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n.String()
	}
	return s
}

// canonicalProto maps EC2's protocol numbers to the names configuration uses.
func canonicalProto(s string) string {
	switch strings.ToLower(s) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "all", "":
		return "-1"
	}
	return strings.ToLower(s)
}

// rulePermissions expands one configured ingress rule. Each CIDR block of
// the rule gives one permission, in order.
func rulePermissions(rule cty.Value) ([]permission, error) {
	proto := canonicalProto(getString(rule, "protocol"))
	if proto == "-1" && !isSet(rule, "protocol") {
		proto = "tcp"
	}
	from, to := int64(-1), int64(-1)
	if proto == "tcp" || proto == "udp" {
		var ok bool
		from, ok = getInt(rule, "port")
		if !ok {
			return nil, fmt.Errorf("an ingress rule with protocol %s needs a port", proto)
		}
		to = from
		if t, ok := getInt(rule, "to_port"); ok {
			to = t
		}
		if to < from {
			return nil, fmt.Errorf("to_port %d is lower than port %d", to, from)
		}
	}
	if proto == "icmp" {
		// For ICMP, EC2's ports are the ICMP type and code; -1 is all.
		if t, ok := getInt(rule, "port"); ok {
			from = t
		}
		if c, ok := getInt(rule, "to_port"); ok {
			to = c
		}
	}
	var perms []permission
	for _, c := range getStrings(rule, "cidr_blocks") {
		perms = append(perms, permission{proto: proto, from: int32(from), to: int32(to), cidr: canonicalCIDR(c)})
	}
	return perms, nil
}

// remotePermissions expands EC2's ingress permissions (CIDR sources only;
// rules naming other groups or prefix lists are not managed here).
func remotePermissions(perms []types.IpPermission) []permission {
	var out []permission
	for _, ip := range perms {
		proto := canonicalProto(deref(ip.IpProtocol))
		from, to := int32(-1), int32(-1)
		if proto == "tcp" || proto == "udp" || proto == "icmp" {
			if ip.FromPort != nil {
				from = *ip.FromPort
			}
			if ip.ToPort != nil {
				to = *ip.ToPort
			}
		}
		for _, r := range ip.IpRanges {
			out = append(out, permission{proto: proto, from: from, to: to, cidr: canonicalCIDR(deref(r.CidrIp))})
		}
		for _, r := range ip.Ipv6Ranges {
			out = append(out, permission{proto: proto, from: from, to: to, cidr: canonicalCIDR(deref(r.CidrIpv6))})
		}
	}
	return out
}

// ipPermissions groups permissions by protocol and ports for the API.
func ipPermissions(perms []permission) []types.IpPermission {
	type key struct {
		proto    string
		from, to int32
	}
	groups := map[key]*types.IpPermission{}
	var order []key
	for _, p := range perms {
		k := key{p.proto, p.from, p.to}
		ip := groups[k]
		if ip == nil {
			ip = &types.IpPermission{IpProtocol: awssdk.String(p.proto), FromPort: awssdk.Int32(p.from), ToPort: awssdk.Int32(p.to)}
			groups[k] = ip
			order = append(order, k)
		}
		if strings.Contains(p.cidr, ":") {
			ip.Ipv6Ranges = append(ip.Ipv6Ranges, types.Ipv6Range{CidrIpv6: awssdk.String(p.cidr)})
		} else {
			ip.IpRanges = append(ip.IpRanges, types.IpRange{CidrIp: awssdk.String(p.cidr)})
		}
	}
	out := make([]types.IpPermission, len(order))
	for i, k := range order {
		out[i] = *groups[k]
	}
	return out
}

func ingressType() cty.Type {
	b := ingressBlock()
	return b.ImpliedType()
}

// ingressPermissions expands all configured rules, without duplicates.
func ingressPermissions(ingress cty.Value) ([]permission, error) {
	if !ingress.IsKnown() || ingress.IsNull() {
		return nil, nil
	}
	seen := map[permission]bool{}
	var out []permission
	i := 0
	for it := ingress.ElementIterator(); it.Next(); i++ {
		_, rule := it.Element()
		perms, err := rulePermissions(rule)
		if err != nil {
			return nil, fmt.Errorf("ingress[%d]: %v", i, err)
		}
		for _, p := range perms {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// ingressValue renders EC2's permissions as the ingress attribute. Rules of
// prior that EC2 still has are kept as written (minus the CIDR blocks that
// are gone), so a refresh of an unchanged group shows no change; whatever
// else EC2 has becomes extra rules, one per protocol and port range.
func ingressValue(remote []permission, prior cty.Value) cty.Value {
	ety := ingressType()
	have := map[permission]bool{}
	for _, p := range remote {
		have[p] = true
	}
	covered := map[permission]bool{}
	var rules []cty.Value
	if prior.IsKnown() && !prior.IsNull() {
		for it := prior.ElementIterator(); it.Next(); {
			_, rule := it.Element()
			perms, err := rulePermissions(rule)
			if err != nil {
				continue
			}
			var kept []cty.Value
			cidrs := getStrings(rule, "cidr_blocks")
			for i, p := range perms {
				if have[p] {
					covered[p] = true
					kept = append(kept, cty.StringVal(cidrs[i]))
				}
			}
			if len(kept) == 0 {
				continue
			}
			if len(kept) == len(cidrs) {
				rules = append(rules, rule)
			} else {
				rules = append(rules, withAttrs(rule, map[string]cty.Value{"cidr_blocks": cty.ListVal(kept)}))
			}
		}
	}
	type key struct {
		proto    string
		from, to int32
	}
	extra := map[key][]string{}
	var keys []key
	for _, p := range remote {
		if covered[p] {
			continue
		}
		covered[p] = true
		k := key{p.proto, p.from, p.to}
		if extra[k] == nil {
			keys = append(keys, k)
		}
		extra[k] = append(extra[k], p.cidr)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.proto != b.proto {
			return a.proto < b.proto
		}
		if a.from != b.from {
			return a.from < b.from
		}
		return a.to < b.to
	})
	for _, k := range keys {
		cidrs := extra[k]
		sort.Strings(cidrs)
		port, toPort := cty.NullVal(cty.Number), cty.NullVal(cty.Number)
		switch k.proto {
		case "tcp", "udp":
			port = cty.NumberIntVal(int64(k.from))
			if k.to != k.from {
				toPort = cty.NumberIntVal(int64(k.to))
			}
		case "icmp":
			// One ICMP type (and code) stays that exact rule.
			if k.from != -1 {
				port = cty.NumberIntVal(int64(k.from))
			}
			if k.to != -1 {
				toPort = cty.NumberIntVal(int64(k.to))
			}
		}
		rules = append(rules, cty.ObjectVal(map[string]cty.Value{
			"port":        port,
			"to_port":     toPort,
			"protocol":    cty.StringVal(k.proto),
			"cidr_blocks": stringList(cidrs),
		}))
	}
	if len(rules) == 0 {
		if prior.IsKnown() && prior.IsNull() {
			return cty.NullVal(cty.List(ety))
		}
		return cty.ListValEmpty(ety)
	}
	return cty.ListVal(rules)
}

func planSecurityGroup(req providers.PlanChangeRequest) providers.PlanChangeResponse {
	cfg, prior := req.Config, req.Prior
	ingress := getAttr(cfg, "ingress")
	if d := validateSecurityGroup(req.Addr, cfg); d.HasErrors() {
		return providers.PlanChangeResponse{Diagnostics: d}
	}
	// No rules configured and none recorded: keep the recorded spelling.
	if pi := getAttr(prior, "ingress"); ingress.IsKnown() && (ingress.IsNull() || ingress.LengthInt() == 0) &&
		pi.IsKnown() && (pi.IsNull() || pi.LengthInt() == 0) && !prior.IsNull() {
		ingress = pi
	}
	planned := withAttrs(cfg, map[string]cty.Value{
		"id":      cty.UnknownVal(cty.String),
		"arn":     cty.UnknownVal(cty.String),
		"tags":    plannedTags(prior, cfg),
		"ingress": ingress,
	})
	if !isSet(cfg, "vpc_id") && !isUnknown(cfg, "vpc_id") {
		planned = withAttrs(planned, map[string]cty.Value{"vpc_id": cty.UnknownVal(cty.String)})
	}
	if prior.IsNull() {
		return providers.PlanChangeResponse{Planned: planned}
	}
	var replace []cty.Path
	for _, attr := range []string{"name", "description"} {
		if changed(prior, cfg, attr) {
			replace = append(replace, cty.GetAttrPath(attr))
		}
	}
	if (isSet(cfg, "vpc_id") || isUnknown(cfg, "vpc_id")) && changed(prior, cfg, "vpc_id") {
		replace = append(replace, cty.GetAttrPath("vpc_id"))
	}
	if len(replace) == 0 {
		planned = withAttrs(planned, map[string]cty.Value{
			"id":     getAttr(prior, "id"),
			"arn":    getAttr(prior, "arn"),
			"vpc_id": getAttr(prior, "vpc_id"),
		})
	}
	return providers.PlanChangeResponse{Planned: planned, RequiresReplace: replace}
}

// securityGroupResource is aws_security_group's entry in the type table.
func (p *Provider) securityGroupResource() resourceType {
	return resourceType{
		name: "aws_security_group", schema: securityGroupSchema, validate: validateSecurityGroup, plan: planSecurityGroup,
		create: p.createSecurityGroup, update: p.updateSecurityGroup, delete: p.deleteSecurityGroup,
		refresh: p.refreshSecurityGroups, importID: p.importSecurityGroup,
	}
}

func (p *Provider) updateSecurityGroup(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	sg, diags := describeOneGroup(ctx, c, id)
	if diags.HasErrors() {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: diags}
	}
	return p.convergeGroup(ctx, c, req, sg, req.Prior)
}

func (p *Provider) createSecurityGroup(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	cfg := req.Config
	name := getString(cfg, "name")
	null := cty.NullVal(securityGroupSchema().ImpliedType())
	// adopt looks for a group tagged for this stack and address: one an
	// earlier run created without recording it, or one this run created
	// although the answer was lost.
	adopt := func() (providers.ApplyChangeResponse, bool) {
		filters := ownerFilters(req.Tags)
		if filters == nil {
			return providers.ApplyChangeResponse{}, false
		}
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		if err != nil {
			return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("looking for security group "+name, err)}, true
		}
		for _, sg := range out.SecurityGroups {
			if !hasOwnerTags(sg.Tags, req.Tags) {
				continue
			}
			progress(req, "adopted existing security group %s tagged for this address", deref(sg.GroupId))
			// Found by its tags, it may still be missing from reads by ID.
			if _, err := p.waitGroup(ctx, c, deref(sg.GroupId)); err != nil {
				return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("reading adopted security group "+deref(sg.GroupId), err)}, true
			}
			partial := p.groupState(sg, req.Planned)
			if req.Created != nil {
				req.Created(partial)
			}
			return p.convergeGroup(ctx, c, req, sg, partial), true
		}
		return providers.ApplyChangeResponse{}, false
	}
	if resp, done := adopt(); done {
		return resp
	}
	in := &ec2.CreateSecurityGroupInput{
		GroupName:         awssdk.String(name),
		Description:       awssdk.String(getString(cfg, "description")),
		TagSpecifications: tagSpecs(createTags(req.Tags, getStringMap(cfg, "tags")), types.ResourceTypeSecurityGroup),
	}
	if v := getString(cfg, "vpc_id"); v != "" {
		in.VpcId = awssdk.String(v)
	}
	out, err := c.CreateSecurityGroup(ctx, in)
	if err != nil {
		if errorCode(err) == "InvalidGroup.Duplicate" {
			// A retry of a create whose answer was lost finds its own group.
			if resp, done := adopt(); done {
				return resp
			}
		}
		return providers.ApplyChangeResponse{NewState: null, Diagnostics: apiDiag("creating security group "+name, err)}
	}
	id := deref(out.GroupId)
	partial := withAttrs(req.Planned, map[string]cty.Value{
		"id":      cty.StringVal(id),
		"arn":     stringOrNull(deref(out.SecurityGroupArn)),
		"ingress": cty.ListValEmpty(ingressType()),
	})
	if !partial.GetAttr("vpc_id").IsKnown() {
		partial = withAttrs(partial, map[string]cty.Value{"vpc_id": cty.NullVal(cty.String)})
	}
	if req.Created != nil {
		req.Created(partial)
	}
	sg, err := p.waitGroup(ctx, c, id)
	if err != nil {
		return providers.ApplyChangeResponse{NewState: partial, Diagnostics: apiDiag("reading new security group "+id, err)}
	}
	return p.convergeGroup(ctx, c, req, sg, partial)
}

// convergeGroup brings the group's tags and ingress rules to the planned
// ones and returns its new state; on error, the best known state (current).
func (p *Provider) convergeGroup(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest, sg types.SecurityGroup, current cty.Value) providers.ApplyChangeResponse {
	id := deref(sg.GroupId)
	if err := syncTags(ctx, c, id, userTags(sg.Tags), getStringMap(req.Config, "tags")); err != nil {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: apiDiag("tagging security group "+id, err)}
	}
	want, err := ingressPermissions(getAttr(req.Config, "ingress"))
	if err != nil {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: errorDiag("Invalid ingress rule", "%s: %v", req.Addr, err)}
	}
	have := remotePermissions(sg.IpPermissions)
	haveSet, wantSet := map[permission]bool{}, map[permission]bool{}
	for _, p := range have {
		haveSet[p] = true
	}
	for _, p := range want {
		wantSet[p] = true
	}
	var add, remove []permission
	for _, p := range want {
		if !haveSet[p] {
			add = append(add, p)
		}
	}
	for _, p := range have {
		if !wantSet[p] {
			remove = append(remove, p)
		}
	}
	if len(remove) > 0 {
		if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(id), IpPermissions: ipPermissions(remove)}); err != nil {
			return providers.ApplyChangeResponse{NewState: current, Diagnostics: apiDiag("revoking ingress rules of security group "+id, err)}
		}
	}
	if len(add) > 0 {
		// A retry whose first answer was lost finds the rules already there.
		if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(id), IpPermissions: ipPermissions(add)}); err != nil && errorCode(err) != "InvalidPermission.Duplicate" {
			return providers.ApplyChangeResponse{NewState: current, Diagnostics: apiDiag("authorizing ingress rules of security group "+id, err)}
		}
	}
	sg, diags := describeOneGroup(ctx, c, id)
	if diags.HasErrors() {
		return providers.ApplyChangeResponse{NewState: current, Diagnostics: diags}
	}
	return providers.ApplyChangeResponse{NewState: p.groupState(sg, req.Planned)}
}

func (p *Provider) deleteSecurityGroup(ctx context.Context, c *ec2.Client, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	id := getString(req.Prior, "id")
	reported := false
	// An instance of this stack that still uses the group (the group is
	// being replaced) moves to a holding group first (see sgreplace.go).
	_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
	switch code := errorCode(err); {
	case err == nil, code == "InvalidGroup.NotFound":
		return providers.ApplyChangeResponse{NewState: cty.NullVal(securityGroupSchema().ImpliedType())}
	case code == "DependencyViolation":
		if found, derr := describeGroups(ctx, c, []string{id}); derr == nil && len(found) == 1 {
			blockers, merr := p.moveOffGroup(ctx, c, req, found[id])
			if merr != nil {
				return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("deleting security group "+id, merr)}
			}
			if len(blockers) > 0 {
				return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: errorDiag("Security group in use",
					"Security group %s cannot be deleted: instance(s) %s, which this stack does not manage, use it. Remove the group from them (or terminate them), then apply again.",
					id, strings.Join(blockers, ", "))}
			}
		}
	}
	// A group is in use until the instances that had it are terminated;
	// EC2 says DependencyViolation meanwhile.
	err = p.poll(ctx, "security group "+id+" to be deletable", func() (bool, error) {
		_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
		switch code := errorCode(err); {
		case err == nil, code == "InvalidGroup.NotFound":
			return true, nil
		case code == "DependencyViolation":
			if !reported {
				progress(req, "security group %s is still in use; retrying", id)
				reported = true
			}
			return false, nil
		default:
			return false, err
		}
	})
	if err != nil {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: apiDiag("deleting security group "+id, err)}
	}
	return providers.ApplyChangeResponse{NewState: cty.NullVal(securityGroupSchema().ImpliedType())}
}

// describeGroups reads groups by ID with one call. It filters on group-id
// rather than passing GroupIds, which fails as a whole when one is missing.
func describeGroups(ctx context.Context, c *ec2.Client, ids []string) (map[string]types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: ids}}}
	found := map[string]types.SecurityGroup{}
	for {
		out, err := c.DescribeSecurityGroups(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, sg := range out.SecurityGroups {
			found[deref(sg.GroupId)] = sg
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return found, nil
		}
		in.NextToken = out.NextToken
	}
}

func describeOneGroup(ctx context.Context, c *ec2.Client, id string) (types.SecurityGroup, hcl.Diagnostics) {
	found, err := describeGroups(ctx, c, []string{id})
	if err != nil {
		return types.SecurityGroup{}, apiDiag("reading security group "+id, err)
	}
	sg, ok := found[id]
	if !ok {
		return types.SecurityGroup{}, errorDiag("Security group not found", "Security group %s does not exist (any more) in this region.", id)
	}
	return sg, nil
}

// groupState builds the state of a group as EC2 describes it; prior gives
// the spelling of ingress rules and tags.
func (p *Provider) groupState(sg types.SecurityGroup, prior cty.Value) cty.Value {
	arn := deref(sg.SecurityGroupArn)
	if arn == "" && deref(sg.OwnerId) != "" {
		region := p.region()
		arn = fmt.Sprintf("arn:%s:ec2:%s:%s:security-group/%s", partition(region), region, deref(sg.OwnerId), deref(sg.GroupId))
	}
	return objectOf(&securityGroupSchema().Block, map[string]cty.Value{
		"name":        cty.StringVal(deref(sg.GroupName)),
		"description": cty.StringVal(deref(sg.Description)),
		"vpc_id":      stringOrNull(deref(sg.VpcId)),
		"tags":        tagsValue(userTags(sg.Tags), getAttr(prior, "tags")),
		"id":          cty.StringVal(deref(sg.GroupId)),
		"arn":         stringOrNull(arn),
		"ingress":     ingressValue(remotePermissions(sg.IpPermissions), getAttr(prior, "ingress")),
	})
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (p *Provider) refreshSecurityGroups(ctx context.Context, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
	return batchRead[types.SecurityGroup]{
		what: "security groups", key: "id", null: cty.NullVal(securityGroupSchema().ImpliedType()),
		describe: describeGroups,
		state:    func(sg types.SecurityGroup, prior cty.Value) (cty.Value, bool) { return p.groupState(sg, prior), true },
	}.run(ctx, p, objs)
}

func (p *Provider) importSecurityGroup(ctx context.Context, c *ec2.Client, req providers.ImportRequest) providers.ImportResponse {
	if !strings.HasPrefix(req.ID, "sg-") {
		return providers.ImportResponse{Diagnostics: errorDiag("Invalid security group ID", "%q is not a security group ID (sg-...).", req.ID)}
	}
	sg, diags := describeOneGroup(ctx, c, req.ID)
	if diags.HasErrors() {
		return providers.ImportResponse{Diagnostics: diags}
	}
	return providers.ImportResponse{State: p.groupState(sg, cty.NullVal(securityGroupSchema().ImpliedType()))}
}
