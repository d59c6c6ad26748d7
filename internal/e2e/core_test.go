package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// coreConfig is the zoomcamp machine without software layers: the cloud
// part only, so no SSH connection is made.
const coreConfig = `
variable "region"        { default = "eu-west-1" }
variable "instance_type" {
  type        = string
  default     = "t2.xlarge"
  description = "EC2 instance type"
}
variable "ssh_host" { default = "" }

locals { name = "mlops-zoomcamp" }

provider "aws" {
  region = var.region
}

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_security_group" "ssh" {
  name        = "${local.name}-ssh"
  description = "SSH in"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "mlops_zoomcamp" {
  ami             = data.aws_ami.ubuntu.id
  instance_type   = var.instance_type
  key_pair        = aws_key_pair.razer.name
  security_groups = [aws_security_group.ssh.id]
  disk_gb         = 30
  tags            = { Name = local.name }

  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host != "" ? var.ssh_host : self.public_ip
    port        = 22
  }

  lifecycle { prevent_destroy = false }
}

output "public_ip" { value = aws_instance.mlops_zoomcamp.public_ip }
`

func TestCoreLifecycle(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": coreConfig})

	r := s.must(0, "validate")
	contains(t, r, "The configuration is valid.")

	r = s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "# aws_instance.mlops_zoomcamp will be created", "+ instance_type", `"t2.xlarge"`,
		"(known after apply)", "Plan: 3 to add, 0 to change, 0 to destroy.")
	if _, err := os.Stat(s.statePath()); err == nil {
		t.Errorf("plan wrote a state file")
	}

	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "aws_instance.mlops_zoomcamp: Creation complete", "Apply complete! Resources: 3 added, 0 changed, 0 destroyed.", "public_ip = ")

	// Reality, checked through the API.
	live := s.liveInstances()
	if len(live) != 1 {
		t.Fatalf("want 1 instance in moto, got %d", len(live))
	}
	inst := live[0]
	if got := string(inst.InstanceType); got != "t2.xlarge" {
		t.Errorf("instance type = %s", got)
	}
	if tag(inst.Tags, "mlops:address") != "aws_instance.mlops_zoomcamp" || tag(inst.Tags, "mlops:stack") == "" || tag(inst.Tags, "Name") != "mlops-zoomcamp" {
		t.Errorf("instance tags = %v", inst.Tags)
	}
	if awssdk.ToString(inst.KeyName) != "razer" {
		t.Errorf("key name = %v", awssdk.ToString(inst.KeyName))
	}

	// Key file and state file: 0600, and no private key in state.
	keyFile := filepath.Join(s.home, ".ssh", "razer.pem")
	for _, p := range []string{keyFile, s.statePath()} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %o, want 600", p, st.Mode().Perm())
		}
	}
	stateBytes, _ := os.ReadFile(s.statePath())
	keyBytes, _ := os.ReadFile(keyFile)
	if strings.Contains(string(stateBytes), "PRIVATE KEY") || strings.Contains(string(stateBytes), strings.TrimSpace(string(keyBytes))[40:80]) {
		t.Errorf("state contains private key material")
	}
	var st struct {
		Lineage string `json:"lineage"`
	}
	json.Unmarshal(stateBytes, &st)
	if tag(inst.Tags, "mlops:stack") != st.Lineage {
		t.Errorf("mlops:stack tag %q != lineage %q", tag(inst.Tags, "mlops:stack"), st.Lineage)
	}

	r = s.must(0, "plan", "-detailed-exitcode")
	contains(t, r, "No changes.")

	r = s.must(0, "output", "-raw", "public_ip")
	if net.ParseIP(r.stdout) == nil {
		t.Errorf("output -raw public_ip = %q", r.stdout)
	}

	// instance_type updates in place; the plan says the machine restarts.
	r = s.must(2, "plan", "-detailed-exitcode", "-var", "instance_type=t2.large")
	contains(t, r, "# aws_instance.mlops_zoomcamp will be updated in place", `~ instance_type`, `"t2.xlarge" -> "t2.large"`,
		"restart", "Plan: 0 to add, 1 to change, 0 to destroy.")
	s.must(0, "apply", "-auto-approve", "-var", "instance_type=t2.large")
	live = s.liveInstances()
	if len(live) != 1 || string(live[0].InstanceType) != "t2.large" || awssdk.ToString(live[0].InstanceId) != awssdk.ToString(inst.InstanceId) {
		t.Fatalf("after in-place update: %d instances, type %s", len(live), live[0].InstanceType)
	}
	s.must(0, "plan", "-detailed-exitcode", "-var", "instance_type=t2.large")

	// Deleted behind mlops' back: planned for creation again, and said so.
	if _, err := s.ec2().TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{*inst.InstanceId}}); err != nil {
		t.Fatal(err)
	}
	r = s.must(2, "plan", "-detailed-exitcode", "-var", "instance_type=t2.large")
	contains(t, r, "aws_instance.mlops_zoomcamp will be created", "deleted outside mlops", "Plan: 1 to add, 0 to change, 0 to destroy.")

	r = s.must(0, "destroy", "-auto-approve", "-var", "instance_type=t2.large")
	contains(t, r, "Destroy complete! Resources: 2 destroyed.")
	if live := s.liveInstances(); len(live) != 0 {
		t.Errorf("instances left after destroy: %d", len(live))
	}
	sgs, _ := s.ec2().DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	for _, g := range sgs.SecurityGroups {
		if awssdk.ToString(g.GroupName) == "mlops-zoomcamp-ssh" {
			t.Errorf("security group left after destroy")
		}
	}
	kps, _ := s.ec2().DescribeKeyPairs(context.Background(), &ec2.DescribeKeyPairsInput{})
	if len(kps.KeyPairs) != 0 {
		t.Errorf("key pairs left after destroy: %d", len(kps.KeyPairs))
	}
	r = s.must(0, "state", "list")
	if strings.TrimSpace(r.stdout) != "" && strings.Contains(r.stdout, "aws_") {
		t.Errorf("state list after destroy: %q", r.stdout)
	}
}

// countingListener accepts connections and counts them: an endpoint that
// proves no API call was attempted.
func countingListener(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), &n
}

func TestBadInputTouchesNothing(t *testing.T) {
	bad := strings.Replace(coreConfig, `disk_gb         = 30`, `disk_gb         = -5`, 1)
	bad = strings.Replace(bad, `cidr_blocks = ["0.0.0.0/0"]`, `cidr_blocks = ["10.0.0.0/33"]`, 1)
	bad = strings.Replace(bad, `instance_type   = var.instance_type`, `instance_typo   = var.instance_type`, 1)
	bad = strings.Replace(bad, `key_pair        = aws_key_pair.razer.name`, `key_pair        = aws_key_pair.razor.name`, 1)
	s := newStack(t, map[string]string{"main.hcl": bad})
	endpoint, calls := countingListener(t)
	for _, cmd := range [][]string{{"validate"}, {"plan"}, {"apply", "-auto-approve"}, {"destroy", "-auto-approve"}} {
		r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + endpoint}, cmd...)
		if r.code != 1 {
			t.Fatalf("mlops %v: want exit 1, got %s", cmd, r)
		}
		if cmd[0] == "plan" {
			contains(t, r, "main.hcl:", "instance_typo", `Did you mean "instance_type"?`,
				"aws_key_pair.razor", "/33", "disk_gb")
			// All problems at once, each with file:line:column.
			for _, want := range []string{"Unsupported argument", "Reference to undeclared resource"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("missing %q in:\n%s", want, r.stderr)
				}
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d connections to the API endpoint for bad input", n)
	}
	if _, err := os.Stat(filepath.Join(s.dir, ".mlops")); err == nil {
		t.Errorf("bad input created the state directory")
	}
}
