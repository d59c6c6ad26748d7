package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

func TestLoadExample(t *testing.T) {
	dir := filepath.Join("testdata", "zoomcamp")
	c, diags := Load(dir, testOpts())
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", renderDiags(diags))
	}

	instance := managed("aws_instance", "mlops_zoomcamp")
	wantDeps := map[addrs.Resource][]addrs.Resource{
		data("aws_ami", "ubuntu"):            nil,
		managed("aws_key_pair", "razer"):     nil,
		managed("aws_security_group", "ssh"): nil,
		managed("host", "lab_gpu"):           nil,
		instance:                             {managed("aws_key_pair", "razer"), managed("aws_security_group", "ssh"), data("aws_ami", "ubuntu")},
	}
	gotDeps := map[addrs.Resource][]addrs.Resource{}
	for addr, r := range c.Resources {
		if r.Addr != addr {
			t.Errorf("Resources[%s].Addr = %s", addr, r.Addr)
		}
		gotDeps[addr] = r.DependsOn
	}
	if d := cmp.Diff(wantDeps, gotDeps); d != "" {
		t.Errorf("DependsOn (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]addrs.Resource{instance}, c.Outputs["public_ip"].DependsOn); d != "" {
		t.Errorf("output DependsOn (-want +got):\n%s", d)
	}

	var layers []string
	for _, l := range c.Resources[instance].Layers {
		layers = append(layers, l.Addr.String()+" ("+l.Kind+")")
	}
	want := []string{
		"aws_instance.mlops_zoomcamp.layer.apt (apt)",
		"aws_instance.mlops_zoomcamp.layer.docker-works (shell)",
	}
	if d := cmp.Diff(want, layers); d != "" {
		t.Errorf("layers (-want +got):\n%s", d)
	}
	if c.Resources[instance].PreventDestroy {
		t.Errorf("PreventDestroy = true")
	}
	if c.Resources[managed("aws_security_group", "ssh")].SSH != nil {
		t.Errorf("security group has an ssh block")
	}
	if got := c.Resources[instance].DeclRange; got.Filename != filepath.Join(dir, "main.hcl") || got.Start.Line != 30 {
		t.Errorf("DeclRange = %s", got)
	}

	vars := map[string]string{}
	for n, v := range c.Variables {
		vars[n] = v.Value.AsString()
	}
	if d := cmp.Diff(map[string]string{"region": "eu-west-1", "instance_type": "t2.xlarge", "ssh_host": ""}, vars); d != "" {
		t.Errorf("variables (-want +got):\n%s", d)
	}
	if got := c.Variables["instance_type"]; got.Type != cty.String || got.Description != "EC2 instance type" {
		t.Errorf("instance_type = %+v", got)
	}
	if got := c.Variables["region"].Type; got != cty.DynamicPseudoType {
		t.Errorf("region type = %#v, want dynamic", got)
	}

	if c.Backend == nil || c.Backend.Type != "s3" {
		t.Fatalf("Backend = %+v", c.Backend)
	}
	backend := map[string]string{}
	for k, v := range c.Backend.Config {
		backend[k] = v.AsString()
	}
	wantBackend := map[string]string{"bucket": "team-mlops-state", "key": "zoomcamp/state.json", "region": "eu-west-1"}
	if d := cmp.Diff(wantBackend, backend); d != "" {
		t.Errorf("backend (-want +got):\n%s", d)
	}
	if _, ok := c.Files[filepath.Join(dir, "main.hcl")]; !ok {
		t.Errorf("Files lacks main.hcl: %v", c.Files)
	}
}

func TestLoadDirectory(t *testing.T) {
	t.Run("several files form one configuration", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "a.hcl", `variable "n" { default = "x" }`)
		write(t, dir, "b.hcl", `resource "aws_key_pair" "k" { name = var.n }`)
		write(t, dir, "notes.txt", `this is not configuration {`)
		write(t, dir, ".#b.hcl", `editor lock file {`)
		c, diags := Load(dir, testOpts())
		if len(diags) > 0 {
			t.Fatalf("unexpected diagnostics:\n%s", renderDiags(diags))
		}
		v, diags := c.EvalResource(managed("aws_key_pair", "k"), nil)
		if len(diags) > 0 {
			t.Fatal(renderDiags(diags))
		}
		if got := v.GetAttr("name").AsString(); got != "x" {
			t.Errorf("name = %q", got)
		}
	})
	t.Run("empty directory", func(t *testing.T) {
		_, diags := Load(t.TempDir(), testOpts())
		if d := cmp.Diff([]string{"-: No configuration files"}, diagLines(diags)); d != "" {
			t.Error(d)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		c, diags := Load(filepath.Join(t.TempDir(), "nope"), testOpts())
		if c == nil {
			t.Fatal("nil config")
		}
		if d := cmp.Diff([]string{"-: Cannot read configuration directory"}, diagLines(diags)); d != "" {
			t.Error(d)
		}
	})
}

func TestLoadMetaArguments(t *testing.T) {
	c := mustLoad(t, `
resource "aws_key_pair" "k" {
  name = "k"
  lifecycle { prevent_destroy = true }
}
resource "aws_key_pair" "j" {
  name       = "j"
  depends_on = [aws_key_pair.k, aws_key_pair.k]
}
locals {
  kp = aws_key_pair.j.id
}
output "via_local" {
  value      = local.kp
  depends_on = [aws_key_pair.k]
}
`, testOpts())
	if !c.Resources[managed("aws_key_pair", "k")].PreventDestroy {
		t.Error("PreventDestroy = false")
	}
	if d := cmp.Diff([]addrs.Resource{managed("aws_key_pair", "k")}, c.Resources[managed("aws_key_pair", "j")].DependsOn); d != "" {
		t.Error(d)
	}
	want := []addrs.Resource{managed("aws_key_pair", "j"), managed("aws_key_pair", "k")}
	if d := cmp.Diff(want, c.Outputs["via_local"].DependsOn); d != "" {
		t.Error(d)
	}
}

func TestLoadSSHDefaults(t *testing.T) {
	c := mustLoad(t, `
resource "host" "h" {
  ssh {
    host        = "10.0.0.1"
    private_key = "~/.ssh/id"
    timeout     = "30s"
    alias       = "gpu"
    host_key    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4lcnjvlOxN5kSPapAwPxaWskLj7A6a2/cUVWRUaeiH"
  }
}
`, testOpts())
	got, diags := c.EvalSSH(managed("host", "h"), nil, cty.NilVal)
	if len(diags) > 0 {
		t.Fatal(renderDiags(diags))
	}
	want := SSHSettings{
		Host: "10.0.0.1", Port: 22, User: "ubuntu", PrivateKey: "/home/me/.ssh/id",
		HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4lcnjvlOxN5kSPapAwPxaWskLj7A6a2/cUVWRUaeiH", Timeout: 30 * time.Second, Alias: "gpu", Known: true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
