package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/crypto/ssh"
)

// TestECDSAKeyRefusedOffline: EC2 imports only RSA and ED25519 keys. An
// ECDSA public_key fails validate, and an ECDSA private_key_file fails
// plan, each with the file and line, before any API call.
func TestECDSAKeyRefusedOffline(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	s := newStack(t, map[string]string{"main.hcl": `provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" {
  name       = "k"
  public_key = "` + line + `"
}
`})
	endpoint, calls := countingListener(t)
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + endpoint}, "validate")
	if r.code != 1 {
		t.Fatalf("validate: want exit 1, got %s", r)
	}
	contains(t, r, "main.hcl:4", "EC2 imports only RSA and ED25519 keys, not ecdsa-sha2-nistp256")

	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "ec.pem"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "main.hcl"), []byte(`provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/ec.pem"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.runEnv([]string{"AWS_ENDPOINT_URL=" + endpoint}, "plan")
	if r.code != 1 {
		t.Fatalf("plan: want exit 1, got %s", r)
	}
	contains(t, r, "main.hcl:2", "EC2 imports only RSA and ED25519 keys")
	if n := calls.Load(); n != 0 {
		t.Errorf("%d API calls for a key EC2 would refuse", n)
	}
}

// TestCapacityErrorReportedAtOnce: InsufficientInstanceCapacity is not
// retried for minutes; apply says at once which type in which zone.
func TestCapacityErrorReportedAtOnce(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": coreConfig})
	s.strict.RefuseCapacity("t2.xlarge")
	r := s.run("apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply: want exit 1, got %s", r)
	}
	contains(t, r, "Not enough EC2 capacity", "t2.xlarge", "eu-west-1a", "does not retry")
	if n := s.strict.Answered("InsufficientInstanceCapacity"); n != 1 {
		t.Errorf("RunInstances was sent %d times, want 1 (no retry)", n)
	}
	if len(s.liveInstances()) != 0 {
		t.Errorf("instances after a refused RunInstances: %v", s.liveInstances())
	}
	if r.elapsed > 30*time.Second {
		t.Errorf("apply took %s to report the capacity error", r.elapsed)
	}
}

// TestRegionFromEnvironmentOrProfile: without region in the provider
// block, the region comes from AWS_REGION, AWS_DEFAULT_REGION or the
// profile, as the AWS CLI finds it; with none, the error says where it can
// come from.
func TestRegionFromEnvironmentOrProfile(t *testing.T) {
	cfg := strings.Replace(smallConfig, `provider "aws" { region = "eu-west-1" }`, `provider "aws" {}`, 1)
	s := newStack(t, map[string]string{"main.hcl": cfg})
	r := s.runEnv(nil, "plan") // the harness sets AWS_REGION
	if r.code != 0 {
		t.Fatalf("plan with AWS_REGION: %s", r)
	}
	contains(t, r, "aws_security_group.web will be created")

	r = s.runEnv([]string{"AWS_REGION=", "AWS_DEFAULT_REGION=eu-west-1"}, "plan")
	if r.code != 0 {
		t.Fatalf("plan with AWS_DEFAULT_REGION: %s", r)
	}

	if err := os.MkdirAll(filepath.Join(s.home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".aws", "config"), []byte("[profile dev]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = s.runEnv([]string{"AWS_REGION=", "AWS_PROFILE=dev"}, "apply", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply with the profile's region: %s", r)
	}
	if s.securityGroupsNamed("web") != 1 {
		t.Errorf("the group is not in eu-west-1")
	}

	r = s.runEnv([]string{"AWS_REGION="}, "plan")
	if r.code != 1 {
		t.Fatalf("plan without any region: want exit 1, got %s", r)
	}
	contains(t, r, "Missing region", "AWS_REGION or AWS_DEFAULT_REGION", "~/.aws/config", "provider block")
}

// TestMissingCredentialsExplained: without credentials, apply says so in
// one paragraph with what to do, not as the SDK's error chain.
func TestMissingCredentialsExplained(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	r := s.runEnv([]string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_MAX_ATTEMPTS=1"}, "apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply without credentials: want exit 1, got %s", r)
	}
	contains(t, r, "No AWS credentials", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "aws configure")
	if strings.Contains(r.stderr, "failed to refresh cached credentials") {
		t.Errorf("raw SDK chain shown:\n%s", r.stderr)
	}
}

// TestReplaceSecurityGroupInUse: a description change replaces the group
// the instance uses; EC2 refuses to delete a group in use, so the instance
// waits in a holding group (same rules) and ends in the new one.
func TestReplaceSecurityGroupInUse(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": coreConfig})
	s.must(0, "apply", "-auto-approve")
	before := s.liveInstances()
	if err := os.WriteFile(filepath.Join(s.dir, "main.hcl"), []byte(strings.Replace(coreConfig, `description = "SSH in"`, `description = "SSH in, v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.must(0, "apply", "-auto-approve")
	contains(t, r, "holding group", "Apply complete! Resources: 1 added, 1 changed, 1 destroyed.")
	if s.strict.Answered("DependencyViolation") == 0 {
		t.Errorf("the old group was never refused: the test does not test the replacement")
	}
	after := s.liveInstances()
	if len(after) != 1 || *after[0].InstanceId != *before[0].InstanceId {
		t.Fatalf("instances after the replacement: %v", after)
	}
	if len(after[0].SecurityGroups) != 1 || *after[0].SecurityGroups[0].GroupName != "mlops-zoomcamp-ssh" ||
		*after[0].SecurityGroups[0].GroupId == *before[0].SecurityGroups[0].GroupId {
		t.Errorf("instance groups: %+v", after[0].SecurityGroups)
	}
	if n := s.securityGroupsNamed("mlops-holding-" + *before[0].SecurityGroups[0].GroupId); n != 0 {
		t.Errorf("holding group left behind")
	}
	s.must(0, "plan", "-detailed-exitcode")
}

// eipRecipe is the README's Elastic IP recipe: the instance names the
// address, so its public_ip, its ssh host and its alias are the address.
const eipRecipe = `
provider "aws" { region = "eu-west-1" }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/k.pem"
}

resource "aws_eip" "ip" {
  tags = { Name = "dev" }
}

resource "aws_instance" "dev" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.k.name
  elastic_ip    = aws_eip.ip.id
  running       = var.running
  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.k.private_key_file
    host        = self.public_ip
    alias       = "dev"
  }
}

variable "running" { default = true }

output "address"     { value = aws_eip.ip.public_ip }
output "instance_ip" { value = aws_instance.dev.public_ip }
`

// TestElasticIPRecipe: no dependency cycle; after the first apply the
// instance's public_ip and ssh alias are the Elastic IP, and they stay it
// across a stop and a start.
func TestElasticIPRecipe(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": eipRecipe})
	r := s.must(0, "apply", "-auto-approve")
	addrs := s.addresses()
	if len(addrs) != 1 {
		t.Fatalf("%d addresses", len(addrs))
	}
	ip := *addrs[0].PublicIp
	live := s.liveInstances()
	if len(live) != 1 || addrs[0].InstanceId == nil || *addrs[0].InstanceId != *live[0].InstanceId {
		t.Fatalf("address not associated with the instance: %+v", addrs[0])
	}
	if got := s.must(0, "output", "-raw", "instance_ip").stdout; got != ip {
		t.Errorf("instance public_ip = %q, want the Elastic IP %q\n%s", got, ip, r)
	}
	cfg, err := os.ReadFile(filepath.Join(s.home, ".ssh", "mlops_config"))
	if err != nil || !strings.Contains(string(cfg), "HostName "+ip) {
		t.Errorf("ssh alias does not point at %s: %v\n%s", ip, err, cfg)
	}
	s.must(0, "plan", "-detailed-exitcode")

	s.must(0, "apply", "-auto-approve", "-var", "running=false")
	s.must(0, "apply", "-auto-approve")
	if got := s.must(0, "output", "-raw", "instance_ip").stdout; got != ip {
		t.Errorf("instance public_ip after a stop and a start = %q, want %q", got, ip)
	}
	s.must(0, "destroy", "-auto-approve")
	if n := len(s.addresses()); n != 0 {
		t.Errorf("%d addresses left after destroy", n)
	}
}

// TestRootDiskGrow: growing disk_gb waits for the volume modification and
// grows the file system over SSH (on the sandbox the root is an overlay:
// nothing to grow, said so, not an error); a second grow within 6 hours is
// refused by EBS and explained.
func TestRootDiskGrow(t *testing.T) {
	h := testworld.StartHost(t)
	cfg := strings.Replace(aliasConfig, `running       = var.running`, "running       = var.running\n  disk_gb       = var.disk_gb", 1)
	cfg = strings.Replace(cfg, `variable "running" { default = true }`, "variable \"running\" { default = true }\nvariable \"disk_gb\" { default = 30 }", 1)
	s := sandboxStack(t, h, cfg)
	r := s.must(0, "apply", "-auto-approve")
	contains(t, r, `+ root_volume_type  = "gp3"`, "+ imdsv2            = true")
	inst := s.liveInstances()[0]
	if inst.MetadataOptions == nil || inst.MetadataOptions.HttpTokens != "required" {
		t.Errorf("IMDSv2 not required: %+v", inst.MetadataOptions)
	}

	r = s.must(0, "apply", "-auto-approve", "-var", "disk_gb=40")
	contains(t, r, "grows from 30 to 40 GiB", "nothing to grow", "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	if n := s.strict.AnsweredAll()["IncorrectModificationState"]; n != 0 {
		t.Errorf("a modification was sent while one was in progress")
	}
	s.must(0, "plan", "-detailed-exitcode", "-var", "disk_gb=40")

	r = s.run("apply", "-auto-approve", "-var", "disk_gb=50")
	if r.code != 1 {
		t.Fatalf("second grow within 6 hours: want exit 1, got %s", r)
	}
	contains(t, r, "Root volume modified too recently", "6 hours")
	vols, err := s.ec2().DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vols.Volumes) != 1 || *vols.Volumes[0].Size != 40 || vols.Volumes[0].VolumeType != "gp3" {
		t.Errorf("volume after the refused grow: %+v", vols.Volumes)
	}
}
