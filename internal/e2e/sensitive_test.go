package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
)

const secret = "s3cr3t-T0ken-9f2c"

const sensitiveConfig = `
variable "ssh_host" {}
variable "ssh_port" {}
variable "token" {
  sensitive = true
}
locals {
  line = "token=${var.token}"
}
resource "host" "lab" {
  ssh {
    host        = var.ssh_host
    port        = var.ssh_port
    user        = "ubuntu"
    private_key = "~/.ssh/razer.pem"
  }
  layer "file" {
    name        = "token"
    destination = "~/token.env"
    content     = "${local.line}\n"
    mode        = "0600"
  }
  layer "shell" {
    name  = "echo"
    check = "test -e ~/echoed"
    run   = "echo ${var.token}; echo ${var.token} >&2; touch ~/echoed"
  }
}
output "token" {
  value     = upper(var.token)
  sensitive = true
}
`

// TestSensitiveValueShownNowhere: a sensitive variable used in a file
// layer, a shell layer and a sensitive output appears in no command's
// output (human or -json), no progress line, not in the state file except
// the output's own value (where Terraform keeps it too, for output -raw),
// and output -raw prints the output on purpose.
func TestSensitiveValueShownNowhere(t *testing.T) {
	h := testworld.StartHost(t)
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, sensitiveConfig)
	s.env = append(s.env, "MLOPS_VAR_token="+secret)
	upperSecret := strings.ToUpper(secret)

	clean := func(what string, r result) {
		t.Helper()
		for _, v := range []string{secret, upperSecret} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("%s shows the sensitive value:\n%s", what, r)
			}
		}
	}
	for _, args := range [][]string{
		{"validate"}, {"plan"}, {"plan", "-json"},
	} {
		clean("mlops "+strings.Join(args, " "), s.run(args...))
	}
	r := s.must(0, "apply", "-auto-approve")
	clean("apply", r)
	contains(t, r, "(output suppressed: the layer's settings are sensitive)", "token = (sensitive value)")
	if got := h.Exec(t, "cat /home/ubuntu/token.env"); got != "token="+secret+"\n" {
		t.Fatalf("token.env = %q", got)
	}
	// A second apply (-json) with a changed secret: converges again, shows nothing.
	s.env = append(s.env, "MLOPS_VAR_token="+secret+"x")
	r = s.must(0, "apply", "-auto-approve", "-json")
	clean("apply -json", r)
	s.env = s.env[:len(s.env)-1]
	s.must(0, "apply", "-auto-approve")

	for _, args := range [][]string{
		{"output"}, {"output", "token"}, {"show"}, {"show", "-json"}, {"state", "list"}, {"state", "show", "host.lab"},
		{"plan", "-detailed-exitcode"}, {"plan", "-json"},
	} {
		clean("mlops "+strings.Join(args, " "), s.run(args...))
	}
	if r := s.must(0, "output", "-raw", "token"); r.stdout != upperSecret {
		t.Errorf("output -raw token = %q", r.stdout)
	}

	// The state: the secret only as the sensitive output's value.
	b, err := os.ReadFile(s.statePath())
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	outs, _ := st["outputs"].(map[string]any)
	tok, _ := outs["token"].(map[string]any)
	if tok["value"] != upperSecret || tok["sensitive"] != true {
		t.Fatalf("state output token: %v", tok)
	}
	delete(outs, "token")
	rest, _ := json.Marshal(st)
	if strings.Contains(string(rest), secret) || strings.Contains(string(rest), upperSecret) {
		t.Fatalf("the state holds the sensitive value outside the output:\n%s", b)
	}
	if strings.Contains(string(b), "touch ~/echoed") {
		t.Fatalf("the state holds a shell layer's command:\n%s", b)
	}

	// Removing the file layer works from what the state records (its
	// destination, not its content).
	start := strings.Index(sensitiveConfig, `  layer "file" {`)
	end := start + strings.Index(sensitiveConfig[start:], "\n  }\n") + len("\n  }\n")
	s.writeConfig(sensitiveConfig[:start] + sensitiveConfig[end:])
	clean("apply removing the file layer", s.must(0, "apply", "-auto-approve"))
	if out, _ := h.Shell("test -e /home/ubuntu/token.env && echo present"); strings.Contains(out, "present") {
		t.Fatal("the removed file layer's file is still there")
	}

	// A failing layer's last output lines, which echo the secret, are not
	// shown either.
	s.writeConfig(strings.Replace(sensitiveConfig, `touch ~/echoed"`, `exit 3"`, 1) + `
resource "host" "fails" {
  ssh {
    host        = var.ssh_host
    port        = var.ssh_port
    user        = "ubuntu"
    private_key = "~/.ssh/razer.pem"
  }
  layer "shell" {
    check = "false"
    run   = "echo ${var.token}; exit 3"
  }
}
`)
	r = s.must(1, "apply", "-auto-approve")
	clean("failed apply", r)
	contains(t, r, "Its output is not shown because its settings derive from a sensitive value")
}

// TestSensitiveOutputMustSaySo: an output derived from a sensitive value
// without sensitive = true is an error with its file and line, at validate
// and at plan, before any connection.
func TestSensitiveOutputMustSaySo(t *testing.T) {
	cfg := `
variable "token" {
  sensitive = true
  default   = "` + secret + `"
}
locals {
  shout = upper(var.token)
}
output "leak" {
  value = "prefix-${local.shout}"
}
`
	s := newStack(t, map[string]string{"main.hcl": cfg})
	for _, cmd := range []string{"validate", "plan"} {
		r := s.must(1, cmd)
		contains(t, r, "Output refers to sensitive values", "main.hcl:10:")
		if strings.Contains(r.stdout+r.stderr, strings.ToUpper(secret)) || strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%s shows the value:\n%s", cmd, r)
		}
	}
}

// TestSensitiveResourceAttributeMasked: a resource attribute set from a
// sensitive variable is shown as (sensitive value) by plan and plan -json.
func TestSensitiveResourceAttributeMasked(t *testing.T) {
	cfg := `
variable "token" {
  sensitive = true
  default   = "` + secret + `"
}
variable "cidr" {
  sensitive = true
  default   = "10.0.0.0/8"
}
provider "aws" { region = "eu-west-1" }
resource "aws_security_group" "web" {
  name        = "web"
  description = "for ${var.token}"
  ingress {
    port        = 22
    cidr_blocks = [var.cidr]
  }
}
`
	s := newStack(t, map[string]string{"main.hcl": cfg})
	r := s.must(0, "plan")
	contains(t, r, "description = (sensitive value)", "ingress = (sensitive value)")
	rj := s.must(0, "plan", "-json")
	for _, rr := range []result{r, rj} {
		if strings.Contains(rr.stdout+rr.stderr, secret) {
			t.Errorf("plan shows the value:\n%s", rr)
		}
	}
	contains(t, rj, `"sensitive_attributes"`)
	if strings.Contains(r.stdout+rj.stdout, "10.0.0.0/8") {
		t.Errorf("plan shows the sensitive ingress:\n%s\n%s", r, rj)
	}

	// Applied, the values are in the state (as in Terraform's), marked
	// there, and every view of the state hides them.
	s.must(0, "apply", "-auto-approve")
	b, err := os.ReadFile(s.statePath())
	if err != nil || !strings.Contains(string(b), `"sensitive_attributes"`) {
		t.Fatalf("the state does not mark the sensitive attributes: %v\n%s", err, b)
	}
	for _, args := range [][]string{{"show"}, {"show", "-json"}, {"state", "show", "aws_security_group.web"}, {"plan"}, {"plan", "-json"}} {
		r := s.must(0, args...)
		if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, "10.0.0.0/8") {
			t.Errorf("mlops %s shows a sensitive value:\n%s", strings.Join(args, " "), r)
		}
	}
}
