package plan

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// machineSchema is an instance-like resource: it has an address that only
// exists while it runs, and running = false stops it.
var machineSchema = &schema.Resource{
	IDAttr: "id",
	SSH:    true,
	Power: &schema.Power{Stopped: func(v cty.Value) bool {
		r := v.GetAttr("running")
		return r.IsKnown() && !r.IsNull() && r.False()
	}},
	Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"running":   {Type: cty.Bool, Optional: true, Default: cty.True},
		"id":        {Type: cty.String, Computed: true},
		"public_ip": {Type: cty.String, Computed: true},
	}},
}

func TestSSHHostsFromRecordedValues(t *testing.T) {
	schemas := schema.Schemas{Resources: map[string]*schema.Resource{"fake_machine": machineSchema, "fake_thing": thingSchema}}
	src := `
variable "ssh_host" { default = "" }
resource "fake_machine" "a" {
  ssh {
    host        = var.ssh_host != "" ? var.ssh_host : self.public_ip
    user        = "me"
    port        = 2222
    private_key = "~/.ssh/a.pem"
    alias       = "box-a"
  }
}
resource "fake_machine" "stopped" {
  running = false
  ssh {
    host  = "${self.public_ip}"
    alias = "box-s"
  }
}
resource "fake_machine" "pinned" {
  ssh {
    host     = fake_machine.a.public_ip
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4lcnjvlOxN5kSPapAwPxaWskLj7A6a2/cUVWRUaeiH"
  }
}
resource "fake_machine" "not_created" {
  ssh { host = self.public_ip }
}
resource "fake_thing" "plain" { name = "x" }
`
	cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)},
		config.LoadOptions{Schemas: schemas, Env: []string{"HOME=/home/me"}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	e := &Engine{Config: cfg, Schemas: schemas}

	st := state.New("l")
	machine := func(name string, running bool, ip string, hostKey string) {
		v := map[string]any{"running": running, "id": "m-" + name, "public_ip": nil}
		if ip != "" {
			v["public_ip"] = ip
		}
		raw, _ := json.Marshal(v)
		r := state.ResourceFor(addrs.Resource{Mode: addrs.Managed, Type: "fake_machine", Name: name})
		r.Attributes, r.HostKey, r.ID = raw, hostKey, "m-"+name
		st.SetResource(r)
	}
	machine("a", true, "54.1.2.3", "ssh-ed25519 PINNED")
	machine("stopped", false, "", "ssh-ed25519 S")
	machine("pinned", true, "54.9.9.9", "")
	plain := state.ResourceFor(addrs.Resource{Mode: addrs.Managed, Type: "fake_thing", Name: "plain"})
	plain.Attributes = json.RawMessage(`{"name":"x","size":null,"ref":null,"id":"t-1"}`)
	st.SetResource(plain)

	got, diags := e.SSHHosts(st)
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	m := func(name string) addrs.Resource {
		return addrs.Resource{Mode: addrs.Managed, Type: "fake_machine", Name: name}
	}
	want := []HostSSH{
		{Addr: m("a"), HostKey: "ssh-ed25519 PINNED", SSH: config.SSHSettings{Host: "54.1.2.3", Port: 2222, User: "me",
			PrivateKey: "/home/me/.ssh/a.pem", Timeout: 5 * time.Minute, Alias: "box-a", Known: true}},
		{Addr: m("pinned"), HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4lcnjvlOxN5kSPapAwPxaWskLj7A6a2/cUVWRUaeiH", SSH: config.SSHSettings{Host: "54.1.2.3", Port: 22, User: "ubuntu",
			HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4lcnjvlOxN5kSPapAwPxaWskLj7A6a2/cUVWRUaeiH", Timeout: 5 * time.Minute, Known: true}},
		{Addr: m("stopped"), HostKey: "ssh-ed25519 S", Stopped: true, SSH: config.SSHSettings{Port: 22, User: "ubuntu",
			Timeout: 5 * time.Minute, Alias: "box-s", Known: true}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("SSHHosts (-want +got):\n%s", d)
	}
}
