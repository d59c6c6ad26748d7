package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/views"
)

// testDeps runs commands in-process with buffers, no terminal and a fixed
// clock, in dir.
func testDeps(t *testing.T, dir string) (Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return Deps{
		Streams: &views.Streams{In: strings.NewReader(""), Out: &out, Err: &errb},
		Env:     []string{"HOME=" + t.TempDir(), "MLOPS_TEST_LOOPBACK_ONLY=1", "NO_COLOR=1"},
		Cwd:     dir,
		Now:     func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
	}, &out, &errb
}

func TestParseOpFlags(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		args    []string
		want    opFlags
		wantErr string
	}{
		{name: "defaults", cmd: "plan", want: opFlags{refresh: true, lock: true, parallelism: 10}},
		{name: "terraform spelling", cmd: "plan", args: []string{"-out", "p.plan", "-json", "-detailed-exitcode", "-var", "a=1", "-var", "b=2", "-var-file", "x.hcl", "-parallelism=3"},
			want: opFlags{out: "p.plan", json: true, detailedExitcode: true, vf: varFlags{vars: stringList{"a=1", "b=2"}, varFiles: stringList{"x.hcl"}}, parallelism: 3, refresh: true, lock: true}},
		{name: "two dashes", cmd: "apply", args: []string{"--auto-approve", "--var", "a=1"},
			want: opFlags{autoApprove: true, vf: varFlags{vars: stringList{"a=1"}}, parallelism: 10, refresh: true, lock: true}},
		{name: "saved plan", cmd: "apply", args: []string{"p.plan"}, want: opFlags{planFile: "p.plan", parallelism: 10, refresh: true, lock: true}},
		{name: "refresh off", cmd: "plan", args: []string{"-refresh=false", "-lock=false"}, want: opFlags{parallelism: 10}},
		{name: "unknown flag", cmd: "plan", args: []string{"-auto-aprove"}, wantErr: "flag provided but not defined: -auto-aprove"},
		{name: "auto-approve is not a plan flag", cmd: "plan", args: []string{"-auto-approve"}, wantErr: "not defined"},
		{name: "bad parallelism", cmd: "apply", args: []string{"-parallelism", "0"}, wantErr: "-parallelism must be at least 1"},
		{name: "stray argument", cmd: "destroy", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, errb := testDeps(t, t.TempDir())
			got, ok := parseOpFlags(d, tt.cmd, planUsage, tt.args)
			if tt.wantErr != "" {
				if ok || !strings.Contains(errb.String(), tt.wantErr) {
					t.Fatalf("want error %q, got ok=%v stderr=%q", tt.wantErr, ok, errb.String())
				}
				return
			}
			if !ok {
				t.Fatalf("unexpected error: %s", errb.String())
			}
			if d := cmp.Diff(tt.want, *got, cmp.AllowUnexported(opFlags{}, varFlags{})); d != "" {
				t.Fatalf("flags (-want +got):\n%s", d)
			}
		})
	}
}

func TestMainRuns(t *testing.T) {
	valid := `
variable "region" { default = "eu-west-1" }
provider "aws" { region = var.region }
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`
	tests := []struct {
		name     string
		files    map[string]string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "version", args: []string{"version"}, wantOut: "mlops v"},
		{name: "-version", args: []string{"-version"}, wantOut: "mlops v"},
		{name: "help", args: []string{"-help"}, wantOut: "Usage: mlops [-chdir=DIR] <command>"},
		{name: "no command", wantCode: 1, wantOut: "Main commands:"},
		{name: "command help", args: []string{"plan", "--help"}, wantOut: "-detailed-exitcode"},
		{name: "unknown command", args: []string{"aply"}, wantCode: 1, wantErr: `unknown command "aply". Did you mean "apply"?`},
		{name: "validate ok", files: map[string]string{"main.hcl": valid}, args: []string{"validate"}, wantOut: "The configuration is valid."},
		{name: "validate chdir", files: map[string]string{"sub/main.hcl": valid}, args: []string{"-chdir=sub", "validate"}, wantOut: "The configuration is valid."},
		{name: "validate bad", files: map[string]string{"main.hcl": strings.Replace(valid, "0.0.0.0/0", "0.0.0.0/99", 1)},
			args: []string{"validate"}, wantCode: 1, wantErr: "\n  on main.hcl:8:19:\n  8:     cidr_blocks = [\"0.0.0.0/99\"]"},
		{name: "validate json", files: map[string]string{"main.hcl": strings.Replace(valid, "port ", "prot ", 1)},
			args: []string{"validate", "-json"}, wantCode: 1, wantOut: `"valid": false`},
		{name: "no files", args: []string{"validate"}, wantCode: 1, wantErr: "No configuration files"},
		{name: "validate owners required", files: map[string]string{"main.hcl": valid + "data \"aws_ami\" \"u\" {\n  name = \"x-*\"\n}\n"},
			args: []string{"validate"}, wantCode: 1, wantErr: "on main.hcl:11:"},
		{name: "validate lock file", files: map[string]string{"main.hcl": valid, "mlops.lock.hcl": "download \"u\" {\n  sha256 = \"x\"\n}\n"},
			args: []string{"validate"}, wantCode: 1, wantErr: "on mlops.lock.hcl:2:"},
		{name: "the lock file is not configuration", files: map[string]string{"main.hcl": valid, "mlops.lock.hcl": "layer \"host.a.layer.apt\" {\n  packages = { git = \"1.0\" }\n}\n"},
			args: []string{"validate"}, wantOut: "The configuration is valid."},
		{name: "fmt leaves the lock file alone", files: map[string]string{"main.hcl": "locals {\n  a = 1\n}\n", "mlops.lock.hcl": "layer \"host.a.layer.apt\" {\npackages = {}\n}\n"},
			args: []string{"fmt", "-check"}},
		{name: "fmt check", files: map[string]string{"main.hcl": "resource \"host\" \"a\" {\nssh {\nhost=\"127.0.0.1\"\n}\n}\n"},
			args: []string{"fmt", "-check"}, wantCode: 3, wantOut: "main.hcl"},
		{name: "fmt diff", files: map[string]string{"main.hcl": "locals {\na=1\n}\n"},
			args: []string{"fmt", "-check", "-diff"}, wantCode: 3, wantOut: "+  a = 1"},
		{name: "output without state", files: map[string]string{"main.hcl": valid}, args: []string{"output"}, wantErr: "No outputs found"},
		{name: "state list empty", files: map[string]string{"main.hcl": valid}, args: []string{"state", "list"}},
		{name: "state bad subcommand", files: map[string]string{"main.hcl": valid}, args: []string{"state", "mv"}, wantCode: 1, wantErr: `unknown state subcommand "mv"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(content), 0o644)
			}
			d, out, errb := testDeps(t, dir)
			code := Main(tt.args, d)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errb)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errb)
			}
		})
	}
}

func TestFmtRewrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "main.hcl")
	os.WriteFile(p, []byte("locals {\na=1\n}\n"), 0o640)
	d, _, _ := testDeps(t, dir)
	if code := Main([]string{"fmt"}, d); code != 0 {
		t.Fatalf("fmt exit %d", code)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "locals {\n  a = 1\n}\n" {
		t.Fatalf("fmt wrote %q", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("fmt changed the file mode to %o", st.Mode().Perm())
	}
}
