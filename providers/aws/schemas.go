package aws

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// The schemas are built by functions rather than held in package variables:
// callers may not mutate a shared value by accident.

func providerSchema() *schema.Block {
	return &schema.Block{
		Description: "Amazon Web Services (EC2).",
		Attributes: map[string]*schema.Attribute{
			"region": {Type: cty.String, Optional: true, Validate: validateRegion,
				Description: "The region to work in, such as eu-west-1 (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region in ~/.aws/config, as the AWS CLI finds it)."},
			"profile": {Type: cty.String, Optional: true,
				Description: "A named profile of the shared AWS configuration files (~/.aws/config)."},
			"endpoint": {Type: cty.String, Optional: true, Validate: validateEndpoint,
				Description: "The EC2 API endpoint URL, for AWS-compatible services and tests (default: AWS_ENDPOINT_URL, else AWS)."},
		},
	}
}

func amiSchema() *schema.Resource {
	return &schema.Resource{
		IDAttr: "id",
		Block: schema.Block{
			Description: "Looks up an AMI by name pattern: the newest match wins.",
			Attributes: map[string]*schema.Attribute{
				"owners": {Type: cty.List(cty.String), Required: true, Validate: validateOwners,
					Description: "Account IDs or aliases (amazon, self) of the image owners, such as [\"099720109477\"] for Canonical. Required: an image that matches the name from any owner is how the \"whoAMI\" attack gets a machine to boot someone else's image."},
				"name": {Type: cty.String, Required: true, Validate: validateNamePattern,
					Description: "The image name pattern; * matches any characters, ? one."},
				"most_recent": {Type: cty.Bool, Optional: true, Default: cty.True,
					Description: "Take the newest match; when false, more than one match is an error."},
				"id":            {Type: cty.String, Computed: true, Description: "The AMI ID."},
				"image_name":    {Type: cty.String, Computed: true, Description: "The name of the image found."},
				"creation_date": {Type: cty.String, Computed: true, Description: "When the image was created (RFC 3339)."},
				"architecture":  {Type: cty.String, Computed: true, Description: "x86_64 or arm64."},
				"root_device_name": {Type: cty.String, Computed: true,
					Description: "The device name of the root volume, such as /dev/sda1."},
				"owner_id": {Type: cty.String, Computed: true, Description: "The account ID of the image's owner."},
				"region":   {Type: cty.String, Computed: true, Description: "The region the image was found in (an AMI ID is valid in one region only)."},
			},
		},
	}
}

func keyPairSchema() *schema.Resource {
	return &schema.Resource{
		IDAttr: "id",
		Block: schema.Block{
			Description: "An EC2 key pair. mlops imports a public key only: from public_key, from the key in private_key_file, or from a new ed25519 key it writes to private_key_file.",
			Attributes: map[string]*schema.Attribute{
				"name": {Type: cty.String, Required: true, ForceNew: true, Validate: validateKeyName,
					Description: "The key pair name."},
				"private_key_file": {Type: cty.String, Optional: true, Validate: validatePath,
					Description: "A private key file (OpenSSH or PEM; ~ is the home directory). If it does not exist, mlops generates an ed25519 key there (mode 0600). The private key never leaves this machine."},
				"public_key": {Type: cty.String, Optional: true, ForceNew: true, Validate: validatePublicKey,
					Description: "A public key in authorized_keys format, instead of private_key_file."},
				"tags": {Type: cty.Map(cty.String), Optional: true, Validate: validateTags,
					Description: "Tags besides mlops's own."},
				"id":          {Type: cty.String, Computed: true, Description: "The key pair name."},
				"key_pair_id": {Type: cty.String, Computed: true, Description: "The key pair ID (key-...)."},
				"fingerprint": {Type: cty.String, Computed: true, Description: "The fingerprint EC2 reports."},
				"public_key_fingerprint": {Type: cty.String, Computed: true, ForceNew: true,
					Description: "SHA256 fingerprint of the public key (as ssh-keygen -l shows it); a different local key replaces the key pair."},
				"public_key_openssh": {Type: cty.String, Computed: true,
					Description: "The public key in authorized_keys format. List it in an ssh block's authorized_keys so that instances launched with an earlier key trust a new one."},
			},
		},
	}
}

// ingressBlock is the schema of one ingress rule.
func ingressBlock() schema.Block {
	return schema.Block{
		Description: "An inbound rule. Egress is left as AWS creates it (all traffic out).",
		Attributes: map[string]*schema.Attribute{
			"port": {Type: cty.Number, Optional: true, Validate: validatePort,
				Description: "The port, or the first port of a range (required for tcp and udp); for icmp, the ICMP type (default: all types); ignored for -1."},
			"to_port": {Type: cty.Number, Optional: true, Validate: validatePort,
				Description: "The last port of a range (default: port); for icmp, the ICMP code (default: all codes)."},
			"protocol": {Type: cty.String, Optional: true, Default: cty.StringVal("tcp"), Validate: validateProtocol,
				Description: "tcp, udp, icmp (all ICMP) or -1 (all traffic)."},
			"cidr_blocks": {Type: cty.List(cty.String), Required: true, Validate: validateCIDRs,
				Description: "Source IPv4 or IPv6 CIDR blocks, such as [\"203.0.113.7/32\"]."},
		},
	}
}

func securityGroupSchema() *schema.Resource {
	return &schema.Resource{
		IDAttr: "id",
		Block: schema.Block{
			Description: "A VPC security group. Ingress rules change in place.",
			Attributes: map[string]*schema.Attribute{
				"name": {Type: cty.String, Required: true, ForceNew: true, Validate: validateGroupName,
					Description: "The group name, unique in its VPC."},
				"description": {Type: cty.String, Optional: true, ForceNew: true, Default: cty.StringVal("Managed by mlops"),
					Validate: validateGroupDescription, Description: "The group description."},
				"vpc_id": {Type: cty.String, Optional: true, Computed: true, ForceNew: true, Validate: validatePrefixed("vpc_id", "vpc-"),
					Description: "The VPC (default: the region's default VPC)."},
				"tags": {Type: cty.Map(cty.String), Optional: true, Validate: validateTags,
					Description: "Tags besides mlops's own."},
				"id":  {Type: cty.String, Computed: true, Description: "The group ID (sg-...)."},
				"arn": {Type: cty.String, Computed: true, Description: "The group ARN."},
			},
			BlockTypes: map[string]*schema.NestedBlock{
				"ingress": {Block: ingressBlock(), Nesting: schema.NestingList},
			},
		},
	}
}

func instanceSchema() *schema.Resource {
	return &schema.Resource{
		IDAttr:    "id",
		SSH:       true,
		HostSteps: dataVolumeSteps,
		Power:     instancePower(),
		Block: schema.Block{
			Description: "An EC2 instance.",
			Attributes: map[string]*schema.Attribute{
				"ami": {Type: cty.String, Required: true, ForceNew: true, Validate: validatePrefixed("ami", "ami-"),
					Description: "The AMI ID."},
				"instance_type": {Type: cty.String, Required: true, Validate: validateInstanceType,
					Description: "The instance type, such as t3.large. A change stops and starts the instance."},
				"key_pair": {Type: cty.String, Optional: true, ForceNew: true, Validate: validateKeyName,
					Description: "The name of the key pair to install for the default user."},
				"security_groups": {Type: cty.List(cty.String), Optional: true, Computed: true, Validate: validateGroupIDs,
					Description: "Security group IDs (default: the VPC's default group). Changes in place."},
				"disk_gb": {Type: cty.Number, Optional: true, Computed: true, Validate: validateDiskGB,
					Description: "Root volume size in GiB (default: the AMI's). Growing is in place; shrinking replaces the instance."},
				"tags": {Type: cty.Map(cty.String), Optional: true, Validate: validateTags,
					Description: "Tags besides mlops's own. Changes in place."},
				"subnet_id": {Type: cty.String, Optional: true, Computed: true, ForceNew: true, Validate: validatePrefixed("subnet_id", "subnet-"),
					Description: "The subnet (default: a default subnet)."},
				"running": {Type: cty.Bool, Optional: true, Default: cty.True,
					Description: "false stops the instance (the disk stays), true starts it."},
				"user_data": {Type: cty.String, Optional: true, ForceNew: true, Validate: validateUserData,
					Description: "cloud-init user data, run at first boot."},
				"root_volume_type": {Type: cty.String, Optional: true, Computed: true, Validate: validateRootVolumeType,
					Description: "The root volume's EBS type: gp3, gp2, io1, io2 or standard. Unset: gp3 for a new instance (cheaper and faster than gp2), what it has for an existing one. Changes in place (one EBS modification, like a disk_gb change)."},
				"imdsv2": {Type: cty.Bool, Optional: true, Computed: true,
					Description: "true requires IMDSv2 (session tokens) for the instance metadata service; false also allows IMDSv1. Unset: true for a new instance, what it has for an existing one. Changes in place."},
				"elastic_ip": {Type: cty.String, Optional: true, Validate: validatePrefixed("elastic_ip", "eipalloc-"),
					Description: "An Elastic IP to associate with the instance (aws_eip.NAME.id of an aws_eip without instance): public_ip, the ssh block's self.public_ip and the ssh alias are then that address. Changes in place."},
				"shutdown_behavior": {Type: cty.String, Optional: true, Default: cty.StringVal("stop"), Validate: validateShutdownBehavior,
					Description: "What a shutdown from inside the machine does: stop (the disk stays; the idle_stop layer relies on it) or terminate. Changes in place."},
				"launch_time": {Type: cty.String, Computed: true,
					Description: "When the instance was last started (RFC 3339), as EC2's LaunchTime says."},
				"stop_reason": {Type: cty.String, Computed: true,
					Description: "Who stopped a stopped instance and when, from EC2's state reason: from inside the instance (a shutdown) or through the API."},
				"id":                {Type: cty.String, Computed: true, Description: "The instance ID (i-...)."},
				"public_ip":         {Type: cty.String, Computed: true, Description: "The public IPv4 address; it changes when the instance is stopped and started."},
				"private_ip":        {Type: cty.String, Computed: true, Description: "The private IPv4 address."},
				"public_dns":        {Type: cty.String, Computed: true, Description: "The public DNS name."},
				"instance_state":    {Type: cty.String, Computed: true, Description: "pending, running, stopping, stopped..."},
				"availability_zone": {Type: cty.String, Computed: true, Description: "The availability zone."},
				"root_volume_id":    {Type: cty.String, Computed: true, Description: "The root EBS volume ID."},
			},
			BlockTypes: map[string]*schema.NestedBlock{"data_volume": dataVolumeBlock()},
		},
	}
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

func validateRegion(v cty.Value) error {
	if s := v.AsString(); !regionPattern.MatchString(s) {
		return fmt.Errorf("region must be an AWS region name such as eu-west-1, got %q", s)
	}
	return nil
}

func validateOwners(v cty.Value) error {
	if len(asStrings(v)) == 0 {
		return fmt.Errorf("owners is empty: name the accounts whose images may be used, such as [\"099720109477\"] (Canonical); images that match the name from any owner are how the \"whoAMI\" attack gets a machine to boot someone else's image")
	}
	for i, s := range asStrings(v) {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("owners[%d] is empty: give an account ID such as 099720109477 or an alias such as amazon or self", i)
		}
	}
	return nil
}

func validateNamePattern(v cty.Value) error {
	if strings.TrimSpace(v.AsString()) == "" {
		return fmt.Errorf("name must be an image name pattern such as ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*")
	}
	return nil
}

// validateKeyName accepts what EC2 accepts: 1 to 255 ASCII characters.
func validateKeyName(v cty.Value) error {
	s := v.AsString()
	if len(s) == 0 || len(s) > 255 {
		return fmt.Errorf("a key pair name must be 1 to 255 characters long, got %d", len(s))
	}
	for i, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("a key pair name must be printable ASCII; character %d (%q) is not", i+1, r)
		}
	}
	return nil
}

func validatePath(v cty.Value) error {
	s := v.AsString()
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("the path must not be empty")
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("the path must not contain NUL characters")
	}
	return nil
}

func validatePublicKey(v cty.Value) error {
	_, err := parsePublicKey(v.AsString())
	return err
}

// parsePublicKey parses one authorized_keys line of a type EC2 imports.
func parsePublicKey(s string) (ssh.PublicKey, error) {
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("public_key must be one public key in authorized_keys format (\"ssh-ed25519 AAAA... comment\"): %v", err)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("public_key must hold one key, found more than one line")
	}
	if err := importableKeyType(pk); err != nil {
		return nil, err
	}
	return pk, nil
}

func validateGroupName(v cty.Value) error {
	s := v.AsString()
	switch {
	case len(s) == 0 || len(s) > 255:
		return fmt.Errorf("a security group name must be 1 to 255 characters long, got %d", len(s))
	case strings.HasPrefix(strings.ToLower(s), "sg-"):
		return fmt.Errorf("a security group name cannot start with sg- (EC2 reserves it for IDs): %q", s)
	}
	return printableASCII("a security group name", s)
}

func validateGroupDescription(v cty.Value) error {
	s := v.AsString()
	if len(s) > 255 {
		return fmt.Errorf("a security group description must be at most 255 characters long, got %d", len(s))
	}
	return printableASCII("a security group description", s)
}

func printableASCII(what, s string) error {
	for i, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("%s must be printable ASCII; character %d (%q) is not", what, i+1, r)
		}
	}
	return nil
}

func validatePrefixed(attr, prefix string) func(cty.Value) error {
	return func(v cty.Value) error {
		if s := v.AsString(); !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
			return fmt.Errorf("%s must be an ID starting with %q, got %q", attr, prefix, s)
		}
		return nil
	}
}

func validatePort(v cty.Value) error {
	n, ok := asInt(v)
	if !ok || n < 1 || n > 65535 {
		return fmt.Errorf("a port must be a whole number from 1 to 65535, got %s", v.AsBigFloat().Text('g', -1))
	}
	return nil
}

func validateProtocol(v cty.Value) error {
	switch s := v.AsString(); s {
	case "tcp", "udp", "icmp", "-1":
		return nil
	default:
		return fmt.Errorf("protocol must be tcp, udp, icmp or -1 (all traffic), got %q", s)
	}
}

func validateCIDRs(v cty.Value) error {
	if v.LengthInt() == 0 {
		return fmt.Errorf("cidr_blocks must list at least one CIDR block, such as 203.0.113.7/32")
	}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		if e.IsNull() {
			return fmt.Errorf("cidr_blocks[%d] is null", i)
		}
		s := e.AsString()
		if _, _, err := net.ParseCIDR(s); err != nil {
			return fmt.Errorf("cidr_blocks[%d]: %q is not a CIDR block such as 203.0.113.7/32 or 2001:db8::/64", i, s)
		}
	}
	return nil
}

var instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)

func validateShutdownBehavior(v cty.Value) error {
	if s := v.AsString(); s != "stop" && s != "terminate" {
		return fmt.Errorf("shutdown_behavior must be \"stop\" or \"terminate\", got %q", s)
	}
	return nil
}

func validateInstanceType(v cty.Value) error {
	if s := v.AsString(); !instanceTypePattern.MatchString(s) {
		return fmt.Errorf("instance_type must be an EC2 instance type such as t3.large or g4dn.xlarge, got %q", s)
	}
	return nil
}

func validateGroupIDs(v cty.Value) error {
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		if e.IsNull() {
			return fmt.Errorf("security_groups[%d] is null", i)
		}
		if s := e.AsString(); !strings.HasPrefix(s, "sg-") {
			return fmt.Errorf("security_groups[%d] must be a security group ID (sg-...), got %q; refer to aws_security_group.NAME.id", i, s)
		}
	}
	return nil
}

// maxDiskGB is the largest EBS volume (gp3, 16 TiB).
const maxDiskGB = 16384

func validateDiskGB(v cty.Value) error {
	n, ok := asInt(v)
	if !ok || n < 1 || n > maxDiskGB {
		return fmt.Errorf("disk_gb must be a whole number of GiB from 1 to %d, got %s", maxDiskGB, v.AsBigFloat().Text('g', -1))
	}
	return nil
}

// maxUserData is EC2's limit on user data before base64 encoding.
const maxUserData = 16 * 1024

func validateUserData(v cty.Value) error {
	if n := len(v.AsString()); n > maxUserData {
		return fmt.Errorf("user_data is %d bytes; EC2 accepts at most %d", n, maxUserData)
	}
	return nil
}

func validateRootVolumeType(v cty.Value) error {
	switch v.AsString() {
	case "gp3", "gp2", "io1", "io2", "standard":
		return nil
	}
	return fmt.Errorf("root_volume_type must be gp3, gp2, io1, io2 or standard, got %q", v.AsString())
}
