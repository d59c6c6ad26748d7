package plan

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/builtin"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
)

// keyHosts is a fake transport: each Open is answered by a "machine" with a
// new host key, and the targets are recorded.
type keyHosts struct {
	mu      sync.Mutex
	opens   []providers.SSHTarget
	known   []string
	nextKey int
}

func (k *keyHosts) LayerSchemas() map[string]*schema.Layer { return layers.Schemas() }

func (k *keyHosts) Open(_ context.Context, t providers.SSHTarget, known string) (providers.HostSession, hcl.Diagnostics) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.opens = append(k.opens, t)
	k.known = append(k.known, known)
	k.nextKey++
	return &keySession{key: fmt.Sprintf("ssh-ed25519 KEY%d", k.nextKey)}, nil
}

type keySession struct{ key string }

func (s *keySession) HostKey() string { return s.key }
func (s *keySession) Probe(_ context.Context, req providers.ProbeRequest) providers.ProbeResponse {
	var out []providers.LayerStatus
	for _, l := range req.Layers {
		out = append(out, providers.LayerStatus{Addr: l.Addr})
	}
	return providers.ProbeResponse{Statuses: out}
}
func (s *keySession) Converge(context.Context, providers.ConvergeRequest) providers.ConvergeResponse {
	return providers.ConvergeResponse{}
}
func (s *keySession) Close() error { return nil }

// TestFirstContactKeyDemandedWithinRun: a plain apply's plan phase makes the
// first contact with an unpinned host; its apply phase must demand that
// key, and a saved plan carries it.
func TestFirstContactKeyDemandedWithinRun(t *testing.T) {
	src := `
resource "host" "lab" {
  ssh { host = "127.0.0.2" }
  layer "file" {
    name        = "f"
    destination = "/tmp/f"
    content     = "x"
  }
}
`
	reg := providers.Registry{"host": builtin.New()}
	schemas := reg.Schemas(layers.Schemas())
	cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	hosts := &keyHosts{}
	e := &Engine{Config: cfg, Providers: reg, Schemas: schemas, Hosts: hosts}
	ctx := context.Background()
	st := state.New("l")
	ref, d := e.Refresh(ctx, st, RefreshOptions{})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	p, d := e.Plan(ctx, ref, PlanOptions{})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	seen := e.SeenHostKeys()
	if id := "host.lab@127.0.0.2:22"; seen[id] != "ssh-ed25519 KEY1" {
		t.Fatalf("keys seen at plan: %v", seen)
	}
	d = e.Apply(ctx, ctx, p, ref.State, ApplyOptions{Persist: func(*state.State) error { return nil }})
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(hosts.opens) != 2 {
		t.Fatalf("%d connections", len(hosts.opens))
	}
	if got := hosts.opens[0].SeenHostKey; got != "" {
		t.Errorf("first contact demanded %q", got)
	}
	if got := hosts.opens[1].SeenHostKey; got != "ssh-ed25519 KEY1" {
		t.Errorf("apply phase demanded %q, want the key seen at plan", got)
	}
	if !hosts.opens[0].KnownHosts {
		t.Error("a host resource does not consult known_hosts")
	}

	// A new run applying a saved plan demands the recorded key.
	e2 := &Engine{Config: cfg, Providers: reg, Schemas: schemas, Hosts: hosts}
	e2.DemandHostKeys(seen)
	if _, d := e2.Plan(ctx, ref, PlanOptions{}); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if got := hosts.opens[2].SeenHostKey; got != "ssh-ed25519 KEY1" {
		t.Errorf("saved plan's run demanded %q", got)
	}
}
