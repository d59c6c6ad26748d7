package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateRunsProviderChecks: configurations that plan rejects without
// any API call are rejected by validate too, with the file and line of the
// argument concerned. The AWS endpoint points at a closed port: a network
// call would fail differently (and validate must not make one).
func TestValidateRunsProviderChecks(t *testing.T) {
	head := `
variable "pub" {}
provider "aws" {
  region   = "eu-west-1"
  endpoint = "http://127.0.0.1:9"
}
`
	tests := []struct {
		name, body, want string
	}{
		{"key pair with both keys", `
resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/k.pem"
  public_key       = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5a2Z8Uu3h6Hk7D1k2rQq0mY9WwV3l1nZ5x8j0JY6wT k"
}`, "Conflicting key pair settings\n\n  on main.hcl:11:"},
		{"key pair with both keys, one from a variable", `
resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/k.pem"
  public_key       = var.pub
}`, "Conflicting key pair settings\n\n  on main.hcl:11:"},
		{"key pair with neither", `
resource "aws_key_pair" "k" {
  name = "k"
}`, "Missing key pair settings\n\n  on main.hcl:8:"},
		{"port range upside down", `
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    port        = 8080
    to_port     = 80
    cidr_blocks = ["0.0.0.0/0"]
  }
}`, "to_port 80 is lower than port 8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(head+tt.body+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			d, out, errb := testDeps(t, dir)
			if code := Main([]string{"validate"}, d); code != 1 {
				t.Fatalf("validate exit %d\nstdout: %s\nstderr: %s", code, out, errb)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr lacks %q:\n%s", tt.want, errb)
			}
		})
	}
}
