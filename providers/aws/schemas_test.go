package aws

import (
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// TestValidateRejectsBadInputs runs each attribute's Validate func, the way
// config does before any API call, on good and bad values.
func TestValidateRejectsBadInputs(t *testing.T) {
	s := New(Options{}).Schemas()
	attr := func(block *schema.Block, name string) *schema.Attribute {
		t.Helper()
		a := block.Attributes[name]
		if a == nil || a.Validate == nil {
			t.Fatalf("attribute %s has no Validate func", name)
		}
		return a
	}
	ingress := &s.Resources["aws_security_group"].BlockTypes["ingress"].Block
	tests := []struct {
		name    string
		block   *schema.Block
		attr    string
		value   cty.Value
		wantErr string // "" = valid
	}{
		{"region ok", s.Provider["aws"], "region", cty.StringVal("eu-west-1"), ""},
		{"region gov ok", s.Provider["aws"], "region", cty.StringVal("us-gov-west-1"), ""},
		{"region bad", s.Provider["aws"], "region", cty.StringVal("Ireland"), `region must be an AWS region name such as eu-west-1, got "Ireland"`},
		{"endpoint bad", s.Provider["aws"], "endpoint", cty.StringVal("localhost:5000"), "endpoint must be an http or https URL"},

		{"key name ok", &s.Resources["aws_key_pair"].Block, "name", cty.StringVal("my key #1"), ""},
		{"key name empty", &s.Resources["aws_key_pair"].Block, "name", cty.StringVal(""), "1 to 255 characters long, got 0"},
		{"key name long", &s.Resources["aws_key_pair"].Block, "name", cty.StringVal(strings.Repeat("k", 256)), "1 to 255 characters long, got 256"},
		{"key name non-ascii", &s.Resources["aws_key_pair"].Block, "name", cty.StringVal("clé"), `character 3 ('é') is not`},
		{"key name control", &s.Resources["aws_key_pair"].Block, "name", cty.StringVal("a\tb"), `character 2 ('\t') is not`},
		{"public key ok", &s.Resources["aws_key_pair"].Block, "public_key",
			cty.StringVal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"), ""},
		{"public key garbage", &s.Resources["aws_key_pair"].Block, "public_key", cty.StringVal("not a key"), "authorized_keys format"},
		{"public key two lines", &s.Resources["aws_key_pair"].Block, "public_key",
			cty.StringVal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"), "one key"},
		{"key file empty", &s.Resources["aws_key_pair"].Block, "private_key_file", cty.StringVal(" "), "must not be empty"},
		{"tags reserved", &s.Resources["aws_key_pair"].Block, "tags", stringMap(map[string]string{"mlops:stack": "x"}), `reserves for its own tags`},
		{"tags aws", &s.Resources["aws_instance"].Block, "tags", stringMap(map[string]string{"AWS:x": "x"}), `which AWS reserves`},
		{"tags ok", &s.Resources["aws_instance"].Block, "tags", stringMap(map[string]string{"Name": "dev"}), ""},

		{"group name sg-", &s.Resources["aws_security_group"].Block, "name", cty.StringVal("sg-web"), "cannot start with sg-"},
		{"group name ok", &s.Resources["aws_security_group"].Block, "name", cty.StringVal("web"), ""},
		{"vpc id bad", &s.Resources["aws_security_group"].Block, "vpc_id", cty.StringVal("default"), `vpc_id must be an ID starting with "vpc-"`},
		{"port zero", ingress, "port", cty.NumberIntVal(0), "from 1 to 65535, got 0"},
		{"port big", ingress, "port", cty.NumberIntVal(70000), "from 1 to 65535, got 70000"},
		{"port fraction", ingress, "port", cty.NumberFloatVal(22.5), "whole number"},
		{"to_port bad", ingress, "to_port", cty.NumberIntVal(-1), "got -1"},
		{"protocol bad", ingress, "protocol", cty.StringVal("http"), `protocol must be tcp, udp, icmp or -1 (all traffic), got "http"`},
		{"protocol all", ingress, "protocol", cty.StringVal("-1"), ""},
		{"cidr ok", ingress, "cidr_blocks", stringList([]string{"0.0.0.0/0", "2001:db8::/32"}), ""},
		{"cidr no mask", ingress, "cidr_blocks", stringList([]string{"10.0.0.0/8", "203.0.113.7"}), `cidr_blocks[1]: "203.0.113.7" is not a CIDR block`},
		{"cidr empty", ingress, "cidr_blocks", cty.ListValEmpty(cty.String), "at least one CIDR block"},

		{"ami bad", &s.Resources["aws_instance"].Block, "ami", cty.StringVal("ubuntu"), `ami must be an ID starting with "ami-"`},
		{"type ok", &s.Resources["aws_instance"].Block, "instance_type", cty.StringVal("g4dn.xlarge"), ""},
		{"type bad", &s.Resources["aws_instance"].Block, "instance_type", cty.StringVal("large"), "instance type such as t3.large"},
		{"sg ids bad", &s.Resources["aws_instance"].Block, "security_groups", stringList([]string{"sg-1", "web"}), `security_groups[1] must be a security group ID (sg-...), got "web"`},
		{"disk zero", &s.Resources["aws_instance"].Block, "disk_gb", cty.NumberIntVal(0), "from 1 to 16384, got 0"},
		{"disk ok", &s.Resources["aws_instance"].Block, "disk_gb", cty.NumberIntVal(100), ""},
		{"subnet bad", &s.Resources["aws_instance"].Block, "subnet_id", cty.StringVal("a"), `subnet_id must be an ID starting with "subnet-"`},
		{"user data big", &s.Resources["aws_instance"].Block, "user_data", cty.StringVal(strings.Repeat("x", 20000)), "at most 16384"},
		{"key pair name", &s.Resources["aws_instance"].Block, "key_pair", cty.StringVal(""), "1 to 255"},

		{"ami pattern empty", &s.DataSources["aws_ami"].Block, "name", cty.StringVal(""), "image name pattern"},
		{"owners empty", &s.DataSources["aws_ami"].Block, "owners", stringList([]string{""}), "owners[0] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := attr(tt.block, tt.attr).Validate(tt.value)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate(%#v) = %v, want no error", tt.value, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Validate(%#v) = nil, want an error containing %q", tt.value, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate(%#v) = %q, want it to contain %q", tt.value, err, tt.wantErr)
			}
		})
	}
}

// TestSchemasAreConsistent checks what the plan engine relies on.
func TestSchemasAreConsistent(t *testing.T) {
	s := New(Options{}).Schemas()
	if s.Provider["aws"] == nil {
		t.Fatal("no aws provider block")
	}
	all := map[string]*schema.Resource{}
	for n, r := range s.Resources {
		all[n] = r
	}
	for n, r := range s.DataSources {
		all["data."+n] = r
	}
	for name, rs := range all {
		if a := rs.Attributes[rs.IDAttr]; rs.IDAttr != "id" || a == nil || !a.Computed {
			t.Errorf("%s: IDAttr %q must be a computed attribute named id", name, rs.IDAttr)
		}
		var check func(path string, b *schema.Block)
		check = func(path string, b *schema.Block) {
			for an, a := range b.Attributes {
				if a.Description == "" {
					t.Errorf("%s.%s has no description", path, an)
				}
				if a.Required && (a.Optional || a.Computed) {
					t.Errorf("%s.%s is required and optional/computed", path, an)
				}
				if a.Default != cty.NilVal && (!a.Optional || !a.Default.Type().Equals(a.Type)) {
					t.Errorf("%s.%s has a default of the wrong type or is not optional", path, an)
				}
			}
			for bn, nb := range b.BlockTypes {
				check(path+"."+bn, &nb.Block)
			}
		}
		check(name, &rs.Block)
	}
	if !s.Resources["aws_instance"].SSH {
		t.Errorf("aws_instance must accept an ssh block")
	}
	// The attribute names other packages and the docs refer to.
	for typ, names := range map[string][]string{
		"aws_instance": {"ami", "instance_type", "key_pair", "security_groups", "disk_gb", "tags", "subnet_id", "running",
			"user_data", "id", "public_ip", "private_ip", "public_dns", "instance_state", "availability_zone", "root_volume_id"},
		"aws_security_group": {"name", "description", "vpc_id", "tags", "id", "arn", "ingress"},
		"aws_key_pair":       {"name", "private_key_file", "public_key", "tags", "id", "key_pair_id", "fingerprint", "public_key_fingerprint"},
	} {
		rs := s.Resources[typ]
		for _, n := range names {
			if rs.Attributes[n] == nil && rs.BlockTypes[n] == nil {
				t.Errorf("%s has no attribute %s", typ, n)
			}
		}
	}
	for _, n := range []string{"owners", "name", "most_recent", "id", "image_name", "creation_date", "architecture"} {
		if s.DataSources["aws_ami"].Attributes[n] == nil {
			t.Errorf("aws_ami has no attribute %s", n)
		}
	}
}
