package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperateRefusesBeforeAnyCall drives operate's first steps in process:
// each refusal comes from the step that owns it, through the view chosen
// from -json, before any API call (the configuration names no reachable
// endpoint, so a call would fail differently).
func TestOperateRefusesBeforeAnyCall(t *testing.T) {
	cfg := `
provider "aws" { region = "eu-west-1" }
resource "aws_security_group" "web" {
  name = "web"
}
`
	tests := []struct {
		name    string
		args    []string
		files   map[string]string
		wantOut string
		wantErr string
	}{
		{name: "missing saved plan", args: []string{"apply", "nope.plan"}, wantErr: "Error: Cannot read saved plan"},
		{name: "missing saved plan as json", args: []string{"apply", "-json", "nope.plan"}, wantOut: `"summary": "Cannot read saved plan"`},
		{name: "invalid saved plan", args: []string{"apply", "bad.plan"}, files: map[string]string{"bad.plan": "not a plan"}, wantErr: "Error: Invalid saved plan"},
		{name: "bad -replace", args: []string{"plan", "-replace", "not an address"}, wantErr: "Error: Invalid -replace address"},
		{name: "config error", args: []string{"plan"}, files: map[string]string{"main.hcl": cfg + "resource \"aws_nope\" \"x\" {}\n"}, wantErr: "on main.hcl:6"},
		{name: "config error as json", args: []string{"plan", "-json"}, files: map[string]string{"main.hcl": cfg + "resource \"aws_nope\" \"x\" {}\n"}, wantOut: `"valid": false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.files["main.hcl"] == "" {
				os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(cfg), 0o644)
			}
			for name, content := range tt.files {
				os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
			}
			d, out, errb := testDeps(t, dir)
			if code := Main(tt.args, d); code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errb)
			}
			if !strings.Contains(out.String(), tt.wantOut) || !strings.Contains(errb.String(), tt.wantErr) {
				t.Fatalf("want stdout %q and stderr %q\nstdout: %s\nstderr: %s", tt.wantOut, tt.wantErr, out, errb)
			}
			if _, err := os.Stat(filepath.Join(dir, ".mlops")); err == nil {
				t.Errorf("a refused run created .mlops (the state was opened)")
			}
		})
	}
}
