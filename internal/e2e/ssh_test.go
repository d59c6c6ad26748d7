package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file cover day-two use of a machine: the ssh alias
// mlops keeps in ~/.ssh/mlops_config, mlops ssh, and stopping and starting
// the instance. The ssh block always points at a sandbox host (or a
// forwarder to it), never at moto's public IPs.

// aliasConfig is an instance with alias mlops-zoomcamp and one cheap layer,
// so an apply connects and pins the host key. Its ssh host and port come
// from variables, running from var.running.
const aliasConfig = `
provider "aws" { region = "eu-west-1" }

variable "ssh_host" {}
variable "ssh_port" {}
variable "running" { default = true }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_instance" "mlops_zoomcamp" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.razer.name
  running       = var.running

  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host
    port        = var.ssh_port
    alias       = "mlops-zoomcamp"
  }

  layer "shell" {
    name  = "hello"
    check = "test -f ~/hello"
    run   = "touch ~/hello"
  }
}

output "public_ip" { value = aws_instance.mlops_zoomcamp.public_ip }
`

// sandboxStack is a stack whose HOME holds the sandbox's client key as
// ~/.ssh/razer.pem and whose ssh_host and ssh_port name the sandbox host.
func sandboxStack(t *testing.T, h *testworld.Host, config string) *stack {
	t.Helper()
	s := newStack(t, map[string]string{"main.hcl": config})
	key, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "razer.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "MLOPS_VAR_ssh_host="+h.Addr, fmt.Sprintf("MLOPS_VAR_ssh_port=%d", h.Port))
	return s
}

func (s *stack) sshFile(name string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.home, ".ssh", name))
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// openSSH runs the real ssh client with only mlops_config as its
// configuration, in batch mode: any prompt (unknown host key, password)
// is a failure.
func (s *stack) openSSH(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-F", filepath.Join(s.home, ".ssh", "mlops_config"), "-o", "BatchMode=yes"}, args...)
	cmd := exec.CommandContext(ctx, "ssh", all...)
	cmd.Env = []string{"HOME=" + s.home, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("ssh: %v", err)
	}
	return string(out), 0
}

// TestSSHAliasAndMlopsSSH: apply writes the alias (and the Include line,
// once, keeping the user's file), plain ssh and mlops ssh reach the host
// with no prompt, a changed host key is refused by both, destroy removes
// the alias.
func TestSSHAliasAndMlopsSSH(t *testing.T) {
	h := testworld.StartHost(t)
	s := sandboxStack(t, h, aliasConfig)
	userConfig := "# mine\nHost *\n  ServerAliveInterval 30\n"
	if err := os.WriteFile(filepath.Join(s.home, ".ssh", "config"), []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}

	r := s.must(0, "apply", "-auto-approve")
	hostPort := net.JoinHostPort(h.Addr, fmt.Sprint(h.Port))
	contains(t, r, "ssh alias mlops-zoomcamp -> "+hostPort+" added in ~/.ssh/mlops_config",
		`added "Include ~/.ssh/mlops_config" at the top of ~/.ssh/config`)
	if got := s.sshFile("config"); got != "Include ~/.ssh/mlops_config\n"+userConfig {
		t.Errorf("~/.ssh/config = %q", got)
	}
	block := s.sshFile("mlops_config")
	for _, line := range []string{
		"Host mlops-zoomcamp\n",
		"  HostName " + h.Addr + "\n",
		fmt.Sprintf("  Port %d\n", h.Port),
		"  User ubuntu\n",
		`  IdentityFile "` + filepath.Join(s.home, ".ssh", "razer.pem") + `"` + "\n",
		`  UserKnownHostsFile "` + filepath.Join(s.home, ".ssh", "mlops_known_hosts") + `"` + "\n",
		"  StrictHostKeyChecking yes\n",
		"  HostKeyAlias mlops-zoomcamp\n",
		"address=aws_instance.mlops_zoomcamp\n",
	} {
		if !strings.Contains(block, line) {
			t.Errorf("mlops_config lacks %q:\n%s", line, block)
		}
	}
	if got := s.sshFile("mlops_known_hosts"); got != "mlops-zoomcamp "+h.HostKey+"\n" {
		t.Errorf("mlops_known_hosts = %q, want the pinned key %q", got, h.HostKey)
	}
	for _, f := range []string{"mlops_config", "mlops_known_hosts"} {
		if st, _ := os.Stat(filepath.Join(s.home, ".ssh", f)); st == nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode is not 0600", f)
		}
	}

	// Plain ssh with nothing but the file: no prompt, the right user.
	if out, code := s.openSSH("mlops-zoomcamp", "id", "-un"); code != 0 || strings.TrimSpace(out) != "ubuntu" {
		t.Errorf("ssh mlops-zoomcamp id -un: exit %d\n%s", code, out)
	}

	// mlops ssh, by alias and by address: output, stderr and exit status.
	r = s.must(0, "ssh", "mlops-zoomcamp", "--", "id", "-un")
	if r.stdout != "ubuntu\n" {
		t.Errorf("mlops ssh id -un: stdout %q\n%s", r.stdout, r)
	}
	r = s.must(7, "ssh", "aws_instance.mlops_zoomcamp", "--", "echo out; echo err >&2; exit 7")
	if r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("mlops ssh by address: %s", r)
	}
	r = s.must(255, "ssh", "nope", "--", "true")
	contains(t, r, `no host named "nope"`, "mlops-zoomcamp (aws_instance.mlops_zoomcamp)")

	// Nothing changed: nothing is said, nothing is written.
	before := s.sshFile("mlops_config") + s.sshFile("mlops_known_hosts") + s.sshFile("config")
	r = s.must(0, "apply", "-auto-approve")
	if strings.Contains(r.stdout, "ssh alias") {
		t.Errorf("a no-change apply talks about the alias:\n%s", r)
	}
	if after := s.sshFile("mlops_config") + s.sshFile("mlops_known_hosts") + s.sshFile("config"); after != before {
		t.Errorf("a no-change apply rewrote the ssh files")
	}

	// A rebuilt (or impersonated) host: both clients refuse it.
	old := h.HostKey
	h.Restart(t, true)
	if h.HostKey == old {
		t.Fatal("the host key did not change")
	}
	conns := h.Connections()
	r = s.must(255, "ssh", "mlops-zoomcamp", "--", "id", "-un")
	containsSqueezed(t, r, "Host key changed", "SHA256:")
	if r.stdout != "" {
		t.Errorf("a refused host ran the command: %q", r.stdout)
	}
	if out, code := s.openSSH("mlops-zoomcamp", "id", "-un"); code != 255 || !strings.Contains(out, "Host key verification failed") {
		t.Errorf("plain ssh to a changed host key: exit %d\n%s", code, out)
	}
	if n := h.Connections() - conns; n > 2 {
		t.Errorf("%d connections to a host with a changed key, want one per client", n)
	}

	// Destroy takes the alias and its key away, and leaves ~/.ssh/config.
	r = s.must(0, "destroy", "-auto-approve")
	contains(t, r, "ssh alias mlops-zoomcamp removed from ~/.ssh/mlops_config")
	if got := s.sshFile("mlops_config"); strings.Contains(got, "\nHost ") {
		t.Errorf("mlops_config after destroy:\n%s", got)
	}
	if got := s.sshFile("mlops_known_hosts"); got != "" {
		t.Errorf("mlops_known_hosts after destroy = %q", got)
	}
	if got := s.sshFile("config"); got != "Include ~/.ssh/mlops_config\n"+userConfig {
		t.Errorf("~/.ssh/config after destroy = %q", got)
	}
}

// tcpForward forwards connections from a new loopback port to target, as
// a machine's new address would: same host behind it.
func tcpForward(t *testing.T, target string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func (s *stack) instanceState() ec2types.InstanceStateName {
	s.t.Helper()
	out, err := s.ec2().DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if i.State.Name != ec2types.InstanceStateNameTerminated {
				return i.State.Name
			}
		}
	}
	return ""
}

// containsSqueezed is contains for text that may be wrapped or aligned:
// runs of white space count as one space on both sides.
func containsSqueezed(t *testing.T, r result, subs ...string) {
	t.Helper()
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	all := squeeze(r.stdout + "\n" + r.stderr)
	for _, sub := range subs {
		if !strings.Contains(all, squeeze(sub)) {
			t.Errorf("output lacks %q:\n%s", sub, r)
		}
	}
}

var publicIPLine = regexp.MustCompile(`public_ip = "([0-9.]+)"`)

// TestPowerState: running = false stops the instance without probing its
// layers, running = true starts it, waits for SSH, and the outputs and the
// alias follow the new addresses.
func TestPowerState(t *testing.T) {
	h := testworld.StartHost(t)
	s := sandboxStack(t, h, aliasConfig)
	r := s.must(0, "apply", "-auto-approve")
	m := publicIPLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no public_ip output:\n%s", r)
	}
	firstIP := m[1]

	// The evening: a plan that says what and why, without SSH.
	conns := h.Connections()
	r = s.must(2, "plan", "-detailed-exitcode", "-var", "running=false")
	containsSqueezed(t, r, "# aws_instance.mlops_zoomcamp will be updated in place", "~ running", "true -> false",
		"# Note: the instance will be stopped (its disk is kept)",
		"the instance will be stopped (running = false): its layers are not checked",
		"Plan: 0 to add, 1 to change, 0 to destroy.")
	if strings.Contains(r.stdout, `layer "hello"`) {
		t.Errorf("the plan lists a layer of an instance being stopped:\n%s", r)
	}
	r = s.must(0, "apply", "-auto-approve", "-var", "running=false")
	contains(t, r, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.",
		"ssh alias mlops-zoomcamp -> "+net.JoinHostPort(h.Addr, fmt.Sprint(h.Port))+" kept in ~/.ssh/mlops_config")
	if st := s.instanceState(); st != ec2types.InstanceStateNameStopped {
		t.Errorf("instance state after running = false: %s", st)
	}
	r = s.must(0, "plan", "-detailed-exitcode", "-var", "running=false")
	contains(t, r, "No changes.")
	if n := h.Connections() - conns; n != 0 {
		t.Errorf("%d SSH connections while stopping and planning a stopped instance", n)
	}
	r = s.must(255, "ssh", "mlops-zoomcamp", "--", "true")
	contains(t, r, "is stopped")

	// The morning: the machine comes back at a new address (here: a
	// forwarder to the same sandbox host).
	fwdHost, fwdPort := tcpForward(t, h.HostPort())
	r = s.must(2, "plan", "-detailed-exitcode", "-var", "ssh_port="+fmt.Sprint(fwdPort), "-var", "ssh_host="+fwdHost)
	containsSqueezed(t, r, "~ running", "false -> true", "its layers are checked by the next plan, once it runs")
	conns = h.Connections()
	r = s.must(0, "apply", "-auto-approve", "-var", "ssh_port="+fmt.Sprint(fwdPort), "-var", "ssh_host="+fwdHost)
	contains(t, r, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.",
		"waiting for SSH on ubuntu@"+fwdHost,
		fmt.Sprintf("ssh alias mlops-zoomcamp -> %s:%d updated in ~/.ssh/mlops_config", fwdHost, fwdPort))
	if n := h.Connections() - conns; n < 1 {
		t.Errorf("apply of running = true did not wait for SSH")
	}
	if st := s.instanceState(); st != ec2types.InstanceStateNameRunning {
		t.Errorf("instance state after running = true: %s", st)
	}
	m = publicIPLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] == firstIP {
		t.Errorf("public_ip output after the restart: %v, before %s\n%s", m, firstIP, r)
	}
	if got := s.must(0, "output", "-raw", "public_ip").stdout; m != nil && got != m[1] {
		t.Errorf("mlops output public_ip = %q, want %q", got, m[1])
	}
	block := s.sshFile("mlops_config")
	if !strings.Contains(block, "  HostName "+fwdHost+"\n") || !strings.Contains(block, fmt.Sprintf("  Port %d\n", fwdPort)) {
		t.Errorf("mlops_config does not follow the new address:\n%s", block)
	}
	// The key follows the alias, not the address: both clients still trust it.
	if out, code := s.openSSH("mlops-zoomcamp", "id", "-un"); code != 0 || strings.TrimSpace(out) != "ubuntu" {
		t.Errorf("ssh mlops-zoomcamp after the move: exit %d\n%s", code, out)
	}
	s.env = append(s.env, "MLOPS_VAR_ssh_host="+fwdHost, fmt.Sprintf("MLOPS_VAR_ssh_port=%d", fwdPort))
	if r := s.must(0, "ssh", "mlops-zoomcamp", "--", "id", "-un"); r.stdout != "ubuntu\n" {
		t.Errorf("mlops ssh after the move: %s", r)
	}
	// Layers are probed again, now that it runs.
	r = s.must(0, "plan", "-detailed-exitcode")
	contains(t, r, "No changes.")
}

// eipConfig is an instance with an Elastic IP; user_data comes from a
// variable so that a test can force a replacement of the instance.
const eipConfig = `
provider "aws" { region = "eu-west-1" }

variable "user_data" { default = "#cloud-config\n" }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_instance" "dev" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  user_data     = var.user_data
}

resource "aws_eip" "ip" {
  instance = aws_instance.dev.id
  tags     = { Name = "dev" }
}

output "address" { value = aws_eip.ip.public_ip }
`

func (s *stack) addresses() []ec2types.Address {
	s.t.Helper()
	out, err := s.ec2().DescribeAddresses(context.Background(), &ec2.DescribeAddressesInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.Addresses
}

// TestElasticIP: the address is allocated and associated with the
// instance, keeps its value when the instance is replaced (it moves to
// the new one in place), and is released by destroy.
func TestElasticIP(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": eipConfig})
	r := s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, `# aws_eip.ip will be created`, "Plan: 2 to add, 0 to change, 0 to destroy.")
	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "aws_eip.ip: Creation complete", "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
	addrs := s.addresses()
	live := s.liveInstances()
	if len(addrs) != 1 || len(live) != 1 {
		t.Fatalf("%d addresses, %d instances", len(addrs), len(live))
	}
	ip := *addrs[0].PublicIp
	if got := *addrs[0].InstanceId; got != *live[0].InstanceId {
		t.Errorf("address associated with %s, want %s", got, *live[0].InstanceId)
	}
	if tag(addrs[0].Tags, "Name") != "dev" || tag(addrs[0].Tags, "mlops:address") != "aws_eip.ip" {
		t.Errorf("address tags = %v", addrs[0].Tags)
	}
	if got := s.must(0, "output", "-raw", "address").stdout; got != ip {
		t.Errorf("output address = %q, want %q", got, ip)
	}
	s.must(0, "plan", "-detailed-exitcode")

	// A new instance: the address moves to it, in place.
	r = s.must(0, "apply", "-auto-approve", "-var", "user_data=#cloud-config\npackages: [htop]\n")
	contains(t, r, "aws_eip.ip: Modifications complete", "Apply complete! Resources: 1 added, 1 changed, 1 destroyed.")
	addrs, live = s.addresses(), s.liveInstances()
	if len(addrs) != 1 || *addrs[0].PublicIp != ip || len(live) != 1 || *addrs[0].InstanceId != *live[0].InstanceId {
		t.Errorf("after replacing the instance: addresses %+v, instances %d", addrs, len(live))
	}
	if got := s.must(0, "output", "-raw", "address").stdout; got != ip {
		t.Errorf("output address after the replacement = %q, want %q", got, ip)
	}

	r = s.must(0, "destroy", "-auto-approve")
	contains(t, r, "Destroy complete! Resources: 2 destroyed.")
	if n := len(s.addresses()); n != 0 {
		t.Errorf("%d addresses left after destroy", n)
	}
}
