package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file cover what a machine costs: the prices in the
// plan and the budget guard.

// pricedConfig is one instance without ssh: its type comes from a variable.
const pricedConfig = `
provider "aws" { region = "eu-west-1" }

variable "instance_type" { default = "t3.micro" }

resource "aws_instance" "box" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = var.instance_type
  disk_gb       = 20
}
`

// TestPlanShowsBothPricesOfATypeChange: after an apply with t3.micro, a plan
// that changes the type to g4dn.xlarge shows the table's price of each,
// and -json carries the numbers.
func TestPlanShowsBothPricesOfATypeChange(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": pricedConfig})
	s.must(0, "apply", "-auto-approve")
	r := s.must(0, "plan", "-var", "instance_type=g4dn.xlarge")
	contains(t, r,
		"Cost estimate in eu-west-1 (AWS on-demand prices of 2024-06-01",
		"aws_instance.box (t3.micro $0.0114/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h -> g4dn.xlarge $0.5870/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h)",
		// 0.0114 + 1.76/730 + 0.005 -> 0.587 + 1.76/730 + 0.005
		"$/h while running:      $0.0188 -> $0.5944",
		"$/month while stopped:  $1.76",
	)
	var doc struct {
		Costs struct {
			Total struct {
				Before float64 `json:"hourly_while_running_before"`
				After  float64 `json:"hourly_while_running_after"`
			} `json:"total"`
		} `json:"costs"`
	}
	js := s.must(0, "plan", "-json", "-var", "instance_type=g4dn.xlarge").stdout
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Costs.Total.Before != 0.018811 || doc.Costs.Total.After != 0.594411 {
		t.Errorf("JSON totals: %+v", doc.Costs.Total)
	}
	// A type the table does not know is "price unknown", never an error.
	r = s.must(0, "plan", "-var", "instance_type=x9.mega")
	contains(t, r, "# price unknown for x9.mega in eu-west-1")
}

// TestBudgetRefusesOffline: max_hourly below the price of t2.xlarge is
// refused with the file and line of max_hourly, before any API call.
func TestBudgetRefusesOffline(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": pricedConfig + `
mlops {
  budget {
    max_hourly = 0.10
  }
}
`})
	p := testworld.StartFaultProxy(t, s.moto.Endpoint())
	env := []string{"AWS_ENDPOINT_URL=" + p.URL()}
	for _, op := range []string{"plan", "apply"} {
		r := s.runEnv(env, op, "-auto-approve", "-var", "instance_type=t2.xlarge")
		if op == "plan" {
			r = s.runEnv(env, op, "-var", "instance_type=t2.xlarge")
		}
		if r.code != 1 {
			t.Fatalf("%s over budget: %s", op, r)
		}
		contains(t, r, "Error: Over budget", "main.hcl:14", "max_hourly = 0.10",
			"aws_instance.box (t2.xlarge $0.2016/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h): $0.2090/h")
	}
	if n := len(p.Log()); n != 0 {
		t.Errorf("%d API calls before the budget refused the plan, want none", n)
	}
	// Within the budget, the plan goes ahead.
	r := s.runEnv(env, "plan")
	if r.code != 0 || !strings.Contains(r.stdout, "Total: $0 -> $0.0188/h") {
		t.Errorf("a plan within the budget: %s", r)
	}
}

// idleConfig is aliasConfig's machine with an idle_stop layer whose stop
// command only records that the agent decided to stop (the sandbox host
// cannot power off); check_every is long, so only the test's checks decide.
const idleConfig = `
provider "aws" { region = "eu-west-1" }

variable "ssh_host" {}
variable "ssh_port" {}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_instance" "mlops_zoomcamp" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t2.xlarge"
  key_pair      = aws_key_pair.razer.name
  disk_gb       = 30

  ssh {
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host
    port        = var.ssh_port
    alias       = "mlops-zoomcamp"
  }

  layer "idle_stop" {
    after        = "1m"
    warn_before  = "0s"
    check_every  = "1h"
    stop_command = "touch /tmp/stop-requested"
  }
}
`

// TestStoppedByTheInstanceItself: the agent on the host decides to stop;
// EC2 (played by the test: StopInstances, and the state reason AWS gives a
// shutdown from inside, through testworld.ShutdownProxy) stops the
// instance; the plan says who stopped it and when, and apply starts it
// again.
func TestStoppedByTheInstanceItself(t *testing.T) {
	h := testworld.StartHost(t)
	s := sandboxStack(t, h, idleConfig)
	p := testworld.StartShutdownProxy(t, s.moto.Endpoint())
	s.env = append(s.env, "AWS_ENDPOINT_URL="+p.URL())
	r := s.must(0, "plan")
	contains(t, r, `+ shutdown_behavior = "stop"`, `+ layer "idle_stop"`)
	s.must(0, "apply", "-auto-approve")
	live := s.liveInstances()
	if len(live) != 1 {
		t.Fatalf("%d instances", len(live))
	}
	id := awssdk.ToString(live[0].InstanceId)
	attr, err := s.ec2().DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(id), Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToString(attr.InstanceInitiatedShutdownBehavior.Value); got != "stop" {
		t.Fatalf("InstanceInitiatedShutdownBehavior = %q, want stop", got)
	}

	// The agent decides: idle for more than its window.
	now := time.Now().Unix()
	for _, at := range []int64{now, now + 61} {
		h.Exec(t, fmt.Sprintf("MLOPS_IDLE_NOW=%d /usr/local/lib/mlops/idle-stop check", at))
	}
	if out := h.Exec(t, "test -f /tmp/stop-requested && echo yes || echo no"); strings.TrimSpace(out) != "yes" {
		t.Fatalf("the agent did not run its stop command; its log:\n%s", h.Exec(t, "cat /var/log/mlops-idle-stop.log"))
	}
	// EC2's part: the machine shut down, so the instance is stopped, by itself.
	if _, err := s.ec2().StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	p.MarkInstanceInitiated(id)

	r = s.must(0, "plan")
	contains(t, r,
		"~ running",
		"Note: the instance was stopped from inside the instance (a shutdown, such as the idle_stop agent's) at ",
		"EC2: Client.InstanceInitiatedShutdown; running = true starts it again",
	)
	s.must(0, "apply", "-auto-approve")
	live = s.liveInstances()
	if len(live) != 1 || live[0].State.Name != ec2types.InstanceStateNameRunning {
		t.Fatalf("after apply: %+v", live)
	}
}

// threeConfig is a stack of three instances: one with an idle_stop agent on
// a sandbox host, one without ssh, one stopped.
const threeConfig = `
provider "aws" { region = "us-east-1" }

variable "ssh_host" {}
variable "ssh_port" {}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_instance" "gpu" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "g4dn.xlarge"
  key_pair      = aws_key_pair.razer.name
  disk_gb       = 100

  ssh {
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host
    port        = var.ssh_port
    alias       = "gpu-box"
  }

  layer "idle_stop" {
    after       = "60m"
    check_every = "1h"
  }
}

resource "aws_instance" "cpu" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.large"
  disk_gb       = 20
}

resource "aws_instance" "old" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t2.xlarge"
  disk_gb       = 30
  running       = false
}
`

// TestStatusOfThreeInstances: mlops status -json reads the three instances
// with one DescribeInstances and the running host with one SSH login, and
// shows the idle agent's view, the cost since the start and who stopped the
// stopped one.
func TestStatusOfThreeInstances(t *testing.T) {
	h := testworld.StartHost(t)
	s := sandboxStack(t, h, threeConfig)
	s.must(0, "apply", "-auto-approve")
	h.Exec(t, "/usr/local/lib/mlops/idle-stop check")

	p := testworld.StartShutdownProxy(t, s.moto.Endpoint())
	conns, sess := h.Connections(), sessions(h)()
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, "status", "-json")
	if r.code != 0 {
		t.Fatal(r)
	}
	if n := p.Calls("DescribeInstances"); n != 1 {
		t.Errorf("status made %d DescribeInstances calls, want 1", n)
	}
	if n := since(h.Connections, conns, 1); n != 1 {
		t.Errorf("status made %d SSH connections to the running host, want 1", n)
	}
	if n := since(sessions(h), sess, 1); n != 1 {
		t.Errorf("status ran %d SSH sessions on the running host, want 1 (one round trip)", n)
	}
	var doc struct {
		Machines []struct {
			Address      string  `json:"address"`
			State        string  `json:"state"`
			Type         string  `json:"instance_type"`
			Alias        string  `json:"ssh_alias"`
			StopReason   string  `json:"stop_reason"`
			RunningSince string  `json:"running_since"`
			Hourly       float64 `json:"hourly_while_running"`
			Stopped      float64 `json:"monthly_while_stopped"`
			Agent        string  `json:"idle_agent"`
		} `json:"machines"`
		Hourly  float64 `json:"hourly_running"`
		Running int     `json:"running"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(doc.Machines) != 3 {
		t.Fatalf("%d machines:\n%s", len(doc.Machines), r.stdout)
	}
	cpu, gpu, old := doc.Machines[0], doc.Machines[1], doc.Machines[2]
	if cpu.Address != "aws_instance.cpu" || cpu.State != "running" || cpu.Type != "t3.large" || cpu.RunningSince == "" || cpu.Hourly != 0.090392 {
		t.Errorf("cpu: %+v", cpu)
	}
	if gpu.State != "running" || gpu.Alias != "gpu-box" || !strings.HasPrefix(gpu.Agent, "idle: idle for 0m of 60m; last activity: the agent started at ") {
		t.Errorf("gpu: %+v", gpu)
	}
	if old.State != "stopped" || !strings.HasPrefix(old.StopReason, "stopped through the EC2 API or console at ") || old.Stopped != 2.4 || old.RunningSince != "" {
		t.Errorf("old: %+v", old)
	}
	if doc.Running != 2 {
		t.Errorf("running: %d", doc.Running)
	}
	r = s.must(0, "status")
	contains(t, r, "aws_instance.gpu  running  g4dn.xlarge", "ssh gpu-box", "idle agent: idle: idle for 0m of 60m", "Z idle: idle for 0m of 60m; last activity: the agent started at ",
		"aws_instance.old  stopped  t2.xlarge", "$2.40/month while stopped", "Total: ")
}

// forwardConfig is aliasConfig's machine with a private port forward to a
// web server on the sandbox host's port 8888, wake on ssh, and a security
// group that opens 8888 to the internet (which the plan warns about). The
// sandbox hosts share this machine's loopback, where 127.0.0.1:8888 may be
// taken, so the forward names the host's own address ("LOCAL:HOST:REMOTE").
const forwardConfig = `
provider "aws" { region = "eu-west-1" }

variable "ssh_host" {}
variable "ssh_port" {}
variable "local_port" {}
variable "running" { default = true }

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_security_group" "web" {
  name = "web"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    port        = 8888
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "mlops_zoomcamp" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.razer.name
  running       = var.running

  ssh {
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host
    port        = var.ssh_port
    alias       = "mlops-zoomcamp"
    forward     = { web = "${var.local_port}:${var.ssh_host}:8888" }
    wake        = true
  }

  layer "shell" {
    name  = "hello"
    check = "test -f ~/hello"
    run   = "touch ~/hello"
  }
}
`

// webOnHost serves a page from the sandbox host's port 8888.
func webOnHost(t *testing.T, h *testworld.Host) {
	t.Helper()
	h.Exec(t, fmt.Sprintf(`mkdir -p /tmp/www && echo 'hello from the notebook' >/tmp/www/index.html
cd /tmp/www && setsid -f python3 -m http.server --bind %s 8888 </dev/null >/tmp/www.log 2>&1
for i in $(seq 50); do curl -s -o /dev/null http://%s:8888/ && exit 0; sleep 0.1; done
cat /tmp/www.log; exit 1`, h.Addr, h.Addr))
	t.Cleanup(func() { h.Shell("pkill -f '[h]ttp.server --bind'") })
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func waitGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, err := get(url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPortForward: the forward becomes a LocalForward line of the alias;
// mlops ssh ALIAS -forward and the OpenSSH client with the alias both make
// the host's web server answer on the local port; the plan warns about
// port 8888 open to the internet.
func TestPortForward(t *testing.T) {
	h := testworld.StartHost(t)
	webOnHost(t, h)
	s := sandboxStack(t, h, forwardConfig)
	local := freeLocalPort(t)
	s.env = append(s.env, fmt.Sprintf("MLOPS_VAR_local_port=%d", local))
	r := s.must(0, "plan")
	contains(t, r, "Warning: Open to the internet", "In aws_security_group.web, port 8888/tcp is open to the whole internet")
	if strings.Contains(r.stderr, "port 22/") {
		t.Errorf("port 22 warned about:\n%s", r.stderr)
	}
	s.must(0, "apply", "-auto-approve")
	cfg := s.sshFile("mlops_config")
	if want := fmt.Sprintf("  LocalForward 127.0.0.1:%d %s:8888\n", local, h.Addr); !strings.Contains(cfg, want) {
		t.Fatalf("mlops_config lacks %q:\n%s", want, cfg)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", local)

	// mlops ssh -forward, until Ctrl-C.
	cmd := exec.Command(binary, "ssh", "mlops-zoomcamp", "-forward")
	cmd.Dir, cmd.Env = s.dir, s.env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("mlops ssh -forward:\n%s", out.String())
		}
	}()
	if body := waitGet(t, url); body != "hello from the notebook\n" {
		t.Errorf("through mlops ssh -forward: %q", body)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("mlops ssh -forward after Ctrl-C: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("web: http://127.0.0.1:%d -> %s:8888 on aws_instance.mlops_zoomcamp", local, h.Addr); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if _, err := get(url); err == nil {
		t.Error("the local port still answers after Ctrl-C")
	}

	// The OpenSSH client with the alias forwards the same port.
	ssh := exec.Command("ssh", "-F", filepath.Join(s.home, ".ssh", "mlops_config"), "-o", "BatchMode=yes", "-N", "mlops-zoomcamp")
	ssh.Env = s.env
	var sshOut strings.Builder
	ssh.Stdout, ssh.Stderr = &sshOut, &sshOut
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ssh.Process.Kill(); ssh.Wait(); t.Logf("ssh -N: %s", sshOut.String()) }()
	if body := waitGet(t, url); body != "hello from the notebook\n" {
		t.Errorf("through ssh with the alias: %q", body)
	}
}

func freeLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestWakeOnSSH: with wake = true, the alias's ProxyCommand is mlops ssh
// -stdio; plain ssh ALIAS against a stopped instance starts it in moto,
// records its new state, and runs the command on the host.
func TestWakeOnSSH(t *testing.T) {
	h := testworld.StartHost(t)
	s := sandboxStack(t, h, forwardConfig)
	s.env = append(s.env, fmt.Sprintf("MLOPS_VAR_local_port=%d", freeLocalPort(t)))
	s.must(0, "apply", "-auto-approve")
	cfg := s.sshFile("mlops_config")
	if want := fmt.Sprintf("  ProxyCommand '%s' -chdir='%s' ssh -stdio mlops-zoomcamp\n", binary, s.dir); !strings.Contains(cfg, want) {
		t.Fatalf("mlops_config lacks %q:\n%s", want, cfg)
	}
	s.must(0, "apply", "-auto-approve", "-var", "running=false")
	if live := s.liveInstances(); len(live) != 1 || live[0].State.Name != ec2types.InstanceStateNameStopped {
		t.Fatalf("not stopped: %+v", live)
	}

	// The morning: plain ssh, with HOME in the test's directory.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ssh := exec.CommandContext(ctx, "ssh", "-F", filepath.Join(s.home, ".ssh", "mlops_config"), "-o", "BatchMode=yes",
		"mlops-zoomcamp", "true && touch woke-by-ssh")
	ssh.Env = s.env
	out, err := ssh.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh mlops-zoomcamp: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "mlops: aws_instance.mlops_zoomcamp is stopped; starting it (ssh { wake = true })") {
		t.Errorf("ssh's output lacks the wake message:\n%s", out)
	}
	if live := s.liveInstances(); len(live) != 1 || live[0].State.Name != ec2types.InstanceStateNameRunning {
		t.Fatalf("ssh did not start the instance: %+v", live)
	}
	if got := strings.TrimSpace(h.Exec(t, "test -f /home/ubuntu/woke-by-ssh && echo yes || echo no")); got != "yes" {
		t.Fatalf("the command did not run on the host")
	}
	// The state knows: nothing to do.
	r := s.must(0, "plan", "-detailed-exitcode")
	contains(t, r, "No changes.")

	// mlops ssh wakes it too.
	s.must(0, "apply", "-auto-approve", "-var", "running=false")
	r = s.must(0, "ssh", "mlops-zoomcamp", "--", "echo", "awake")
	contains(t, r, "is stopped; starting it (ssh { wake = true })", "awake")
	if live := s.liveInstances(); len(live) != 1 || live[0].State.Name != ec2types.InstanceStateNameRunning {
		t.Fatalf("mlops ssh did not start the instance: %+v", live)
	}
}
