package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/crypto/ssh"
)

// The tests in this file are issue 9: a team shares one configuration and
// one S3 state, with a box per member (for_each) and each member's own key.

// teamConfig is the team's repository: a box per member of var.team, on
// its own sandbox host, every member's public key (keys/NAME.pub) in
// authorized_keys, and the launch key pair in the creator's ~/.ssh/razer.pem.
func teamConfig(members map[string]*testworld.Host) string {
	var team strings.Builder
	for _, name := range []string{"alice", "bob", "carol"} {
		if h := members[name]; h != nil {
			fmt.Fprintf(&team, "    %s = { host = %q, port = %d }\n", name, h.Addr, h.Port)
		}
	}
	return fmt.Sprintf(`
provider "aws" { region = "eu-west-1" }

variable "team" {
  default = {
%s  }
}

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "launch" {
  name             = "zoomcamp"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_instance" "box" {
  for_each      = var.team
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.launch.name
  tags          = { Name = "zoomcamp-${each.key}" }

  ssh {
    user            = "ubuntu"
    private_key     = aws_key_pair.launch.private_key_file
    host            = each.value.host
    port            = each.value.port
    alias           = "zoomcamp-${each.key}"
    authorized_keys = [for name, m in var.team : file("keys/${name}.pub")]
  }

  layer "shell" {
    name  = "hello"
    check = "test -f ~/hello"
    run   = "touch ~/hello"
  }
}

output "ips" { value = [for k, b in aws_instance.box : b.public_ip] }
output "alice_ip" { value = aws_instance.box["alice"].public_ip }
output "ids" { value = aws_instance.box[*].id }
`, team.String()) + s3Backend("")
}

// newKey writes an ed25519 key pair to path and path.pub and returns the
// public key line.
func newKey(t *testing.T, path, comment string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatal(err)
	}
	spub, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub))) + " " + comment
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

// member is another person on the team: the same moto, another checkout
// of the same repository, another HOME.
func member(a *stack) *stack {
	b := &stack{t: a.t, moto: a.moto, dir: a.t.TempDir(), home: a.t.TempDir()}
	for _, kv := range a.env {
		if strings.HasPrefix(kv, "HOME=") {
			kv = "HOME=" + b.home
		}
		b.env = append(b.env, kv)
	}
	return b
}

// checkout copies the repository (main.hcl and keys/) from a to b.
func checkout(t *testing.T, a, b *stack) {
	t.Helper()
	for _, name := range []string{"main.hcl", "keys/alice.pub", "keys/bob.pub", "keys/carol.pub"} {
		data, err := os.ReadFile(filepath.Join(a.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(b.dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var destroyLineRe = regexp.MustCompile(`(?m)^\s*# (\S+) will be destroyed`)

func TestTeamBoxPerMemberSharedS3State(t *testing.T) {
	hosts := testworld.StartHosts(t, 3)
	members := map[string]*testworld.Host{"alice": hosts[0], "bob": hosts[1], "carol": hosts[2]}

	// Alice created the stack: the launch key is hers (the sandbox's key,
	// which the hosts trust as EC2 would have installed it).
	a := newStack(t, nil)
	a.createBucket()
	launch, err := os.ReadFile(hosts[0].KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(a.home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.home, ".ssh", "razer.pem"), launch, 0o600); err != nil {
		t.Fatal(err)
	}
	newKey(t, filepath.Join(a.home, ".ssh", "id_ed25519"), "alice@laptop")
	if err := os.MkdirAll(filepath.Join(a.dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(a.home, ".ssh", "id_ed25519.pub"), filepath.Join(a.dir, "keys", "alice.pub"))
	b := member(a)
	bobKey := newKey(t, filepath.Join(b.home, ".ssh", "id_ed25519"), "bob@laptop")
	copyFile(t, filepath.Join(b.home, ".ssh", "id_ed25519.pub"), filepath.Join(a.dir, "keys", "bob.pub"))
	carolKey := newKey(t, filepath.Join(t.TempDir(), "id_ed25519"), "carol@laptop")
	if err := os.WriteFile(filepath.Join(a.dir, "keys", "carol.pub"), []byte(carolKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.writeConfig(teamConfig(members))
	checkout(t, a, b)

	// Alice applies: three boxes, their layers, everyone's key on each.
	r := a.must(0, "apply", "-auto-approve")
	contains(t, r, `aws_instance.box["alice"]`, `aws_instance.box["bob"]`, `aws_instance.box["carol"]`, "Resources: 4 added")
	if n := len(a.liveInstances()); n != 3 {
		t.Fatalf("%d instances after apply, want 3", n)
	}
	st := a.remoteState()
	for _, name := range []string{"alice", "bob", "carol"} {
		rs := st.Resource(fmt.Sprintf("aws_instance.box[%q]", name))
		if rs == nil || rs.Key.Str() != name || rs.HostKey == "" || len(rs.Layers) != 2 {
			t.Fatalf("state of box %s: %+v", name, rs)
		}
	}
	launchPub, err := os.ReadFile(hosts[0].KeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	launchKey := strings.TrimSpace(string(launchPub))
	ak := asUbuntu(t, hosts[1], "cat ~/.ssh/authorized_keys")
	if !strings.Contains(ak, bobKey) || !strings.Contains(ak, carolKey) || !strings.HasPrefix(ak, launchKey+"\n") {
		t.Fatalf("authorized_keys on bob's box:\n%s", ak)
	}
	r = a.must(0, "output", "-json")
	contains(t, r, `"alice_ip"`, `"ips"`, `"ids"`)
	// The lock file alice's apply wrote is committed with the rest.
	copyFile(t, filepath.Join(a.dir, "mlops.lock.hcl"), filepath.Join(b.dir, "mlops.lock.hcl"))

	// Bob, on his own laptop with his own key only: a no-op plan, the key
	// pair kept (the plan says whose key it is), and a shell on his box.
	r = b.run("plan", "-detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("bob's plan is not a no-op: %s", r)
	}
	t.Logf("bob's no-op plan of 3 boxes took %s", r.elapsed)
	fp := st.Resource("aws_key_pair.launch")
	containsFlat(t, r, "aws_key_pair.launch holds a key that is not on this machine", "authorized_keys")
	if fp == nil || !strings.Contains(strings.Join(strings.Fields(r.stdout+r.stderr), " "), "SHA256:") {
		t.Errorf("bob's plan does not name the key's fingerprint: %s", r)
	}
	if _, err := os.Stat(filepath.Join(b.home, ".ssh", "razer.pem")); err == nil {
		t.Errorf("bob's plan generated a key")
	}
	r = b.must(0, "ssh", `aws_instance.box["bob"]`, "--", "whoami")
	if strings.TrimSpace(r.stdout) != "ubuntu" {
		t.Errorf("mlops ssh as bob: %s", r)
	}
	if log := hosts[1].SSHDLog(); !strings.Contains(log, fingerprintOf(t, bobKey)) {
		t.Errorf("bob's box was not entered with bob's key; sshd log:\n%s", log)
	}
	r = b.must(0, "state", "list")
	for _, name := range []string{"alice", "bob", "carol"} {
		contains(t, r, fmt.Sprintf("aws_instance.box[%q]", name))
	}
	r = b.must(0, "state", "show", `aws_instance.box["carol"]`)
	contains(t, r, `# aws_instance.box["carol"]:`, `resource "aws_instance" "box"`)

	// Two members apply at once: the second is refused by the lock and the
	// state is left as it was.
	before := a.remoteState().Serial
	first, release, paused := a.pausedApply("DescribeInstances")
	waitFor(t, "alice's apply to reach DescribeInstances", paused)
	r = b.must(1, "apply", "-auto-approve")
	containsFlat(t, r, "Error acquiring the state lock")
	release()
	if k := first.wait(); k != "" || first.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("alice's apply: exit %d\n%s", first.cmd.ProcessState.ExitCode(), first.out.String())
	}
	if st := a.remoteState(); st.Serial < before || len(st.Resources) != len(a.remoteState().Resources) || st.Resource(`aws_instance.box["bob"]`) == nil {
		t.Fatalf("state after the refused apply: serial %d (was %d)", st.Serial, before)
	}
	a.checkUnlocked("after both applies")

	// Bob's own apply (nothing to do) writes his aliases with his own key:
	// plain ssh gets him in.
	b.must(0, "apply", "-auto-approve")
	if cfg := b.sshFile("mlops_config"); !strings.Contains(cfg, "Host zoomcamp-bob") ||
		!strings.Contains(cfg, filepath.Join(b.home, ".ssh", "id_ed25519")) || strings.Contains(cfg, "razer.pem") {
		t.Errorf("bob's mlops_config:\n%s", cfg)
	}
	if out, code := b.openSSH("zoomcamp-bob", "whoami"); code != 0 || strings.TrimSpace(out) != "ubuntu" {
		t.Errorf("ssh zoomcamp-bob: exit %d: %s", code, out)
	}

	// Carol leaves: exactly her box is destroyed, once named; her key
	// leaves the others.
	delete(members, "carol")
	a.writeConfig(teamConfig(members))
	r = a.must(0, "plan")
	got := destroyLineRe.FindAllStringSubmatch(r.stdout, -1)
	if len(got) != 1 || got[0][1] != `aws_instance.box["carol"]` {
		t.Fatalf("plan after carol left destroys %v:\n%s", got, r)
	}
	contains(t, r, "0 to add", "1 to destroy")
	// Her box is a pet too: apply deletes it only when it is named.
	r = a.must(1, "apply", "-auto-approve")
	contains(t, r, `Deleting aws_instance.box["carol"] needs -delete='aws_instance.box["carol"]'`)
	if n := len(a.liveInstances()); n != 3 {
		t.Errorf("%d instances after the refused apply, want 3", n)
	}
	a.must(0, "apply", "-auto-approve", `-delete=aws_instance.box["carol"]`)
	if n := len(a.liveInstances()); n != 2 {
		t.Errorf("%d instances after carol left, want 2", n)
	}
	ak = asUbuntu(t, hosts[1], "cat ~/.ssh/authorized_keys")
	if strings.Contains(ak, carolKey) || !strings.Contains(ak, bobKey) || !strings.HasPrefix(ak, launchKey+"\n") {
		t.Errorf("authorized_keys on bob's box after carol left:\n%s", ak)
	}
	a.must(0, "plan", "-detailed-exitcode")

	// state rm and import take a bracketed address too; import refuses a
	// key the configuration does not declare (the next plan would destroy it).
	id := a.remoteState().Resource(`aws_instance.box["bob"]`).ID
	r = a.must(0, "state", "rm", `aws_instance.box["bob"]`)
	contains(t, r, `Removed aws_instance.box["bob"] from the state`)
	if a.remoteState().Resource(`aws_instance.box["bob"]`) != nil {
		t.Errorf("state rm left bob's box in the state")
	}
	r = a.must(1, "import", `aws_instance.box["carol"]`, id)
	contains(t, r, "not one of the instances the configuration declares")
	a.must(1, "import", "aws_instance.box", id)
	a.must(0, "import", `aws_instance.box["bob"]`, id)
	if rs := a.remoteState().Resource(`aws_instance.box["bob"]`); rs == nil || rs.ID != id || rs.Key.Str() != "bob" {
		t.Errorf("imported bob's box: %+v", rs)
	}

	// Destroy takes the instances down in one run and removes their aliases.
	r = a.must(0, "destroy", "-auto-approve")
	contains(t, r, `aws_instance.box["alice"]`, `aws_instance.box["bob"]`)
	if n := len(a.liveInstances()); n != 0 {
		t.Errorf("%d instances after destroy", n)
	}
	if cfg := a.sshFile("mlops_config"); strings.Contains(cfg, "Host zoomcamp-") {
		t.Errorf("aliases left after destroy:\n%s", cfg)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fingerprintOf(t *testing.T, line string) string {
	t.Helper()
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(pk)
}

// TestForEachMistakesBeforeAnyAPICall: bad uses of for_each and count are
// reported with file and line by validate and by plan, which reaches no
// endpoint (the one given does not answer).
func TestForEachMistakesBeforeAnyAPICall(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": `
provider "aws" { region = "eu-west-1" }
resource "aws_key_pair" "k" { name = "k", private_key_file = "~/.ssh/k.pem" }
resource "aws_instance" "b" {
  for_each      = toset([aws_key_pair.k.key_pair_id])
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"
}
resource "aws_instance" "dup" {
  for_each      = ["alice", "bob", "alice"]
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"
}
resource "aws_instance" "both" {
  for_each      = toset(["a"])
  count         = 1
  ami           = "ami-${count.index}"
  instance_type = each.key
}
`})
	for _, args := range [][]string{{"validate"}, {"plan"}} {
		r := s.runEnv([]string{"AWS_ENDPOINT_URL=http://127.0.0.1:1"}, args...)
		if r.code != 1 {
			t.Fatalf("%v: %s", args, r)
		}
		containsFlat(t, r, "Invalid for_each argument", "on main.hcl:5:", "known only after apply",
			"on main.hcl:10:", `"alice" more than once`,
			"on main.hcl:16:", `Invalid combination of "count" and "for_each"`)
		if strings.Contains(r.stderr+r.stdout, "127.0.0.1:1") {
			t.Errorf("%v reached the endpoint: %s", args, r)
		}
	}
}

// TestKeyPairRotationReachesTheInstance: a new launch key (the key file
// replaced) is a key pair replacement the plan shows; the instance is kept
// and gets the new key in authorized_keys (listed there through
// public_key_openssh), applied over the member's own authorized key; the
// new key then logs in on its own.
func TestKeyPairRotationReachesTheInstance(t *testing.T) {
	h := testworld.StartHost(t)
	s := newStack(t, nil)
	launch, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	razer := filepath.Join(s.home, ".ssh", "razer.pem")
	if err := os.MkdirAll(filepath.Dir(razer), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(razer, launch, 0o600); err != nil {
		t.Fatal(err)
	}
	alice := newKey(t, filepath.Join(s.home, ".ssh", "id_ed25519"), "alice@laptop")
	s.writeConfig(fmt.Sprintf(`
provider "aws" { region = "eu-west-1" }
data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}
resource "aws_key_pair" "launch" {
  name             = "zoomcamp"
  private_key_file = "~/.ssh/razer.pem"
}
resource "aws_instance" "box" {
  for_each      = toset(["alice"])
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  key_pair      = aws_key_pair.launch.name
  ssh {
    private_key     = aws_key_pair.launch.private_key_file
    host            = %q
    port            = %d
    authorized_keys = [aws_key_pair.launch.public_key_openssh, %q]
  }
}
`, h.Addr, h.Port, alice))
	s.must(0, "apply", "-auto-approve")
	ids := s.liveInstances()

	// The key file is replaced by a new key.
	if err := os.Remove(razer); err != nil {
		t.Fatal(err)
	}
	newLaunch := newKey(t, razer, "razer-2")
	r := s.must(0, "plan")
	containsFlat(t, r, "aws_key_pair.launch must be replaced", `layer "authorized_keys"`)
	s.must(0, "apply", "-auto-approve")
	if live := s.liveInstances(); len(live) != 1 || *live[0].InstanceId != *ids[0].InstanceId {
		t.Fatalf("the instance was replaced: %v -> %v", ids, live)
	}
	ak := asUbuntu(t, h, "cat ~/.ssh/authorized_keys")
	if !strings.Contains(ak, strings.Fields(newLaunch)[1]) {
		t.Fatalf("the new launch key is not authorized:\n%s", ak)
	}
	// The new key alone gets in now.
	if err := os.Remove(filepath.Join(s.home, ".ssh", "id_ed25519")); err != nil {
		t.Fatal(err)
	}
	r = s.must(0, "ssh", `aws_instance.box["alice"]`, "--", "whoami")
	if strings.TrimSpace(r.stdout) != "ubuntu" {
		t.Errorf("mlops ssh with the new key: %s", r)
	}
	s.must(0, "plan", "-detailed-exitcode")
}
