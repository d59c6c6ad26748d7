package plan

import (
	"context"

	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// boxSchema is a fake cloud machine: a host that mlops creates (so a new
// one boots) and that can be stopped (powered = false), declared through
// schema.Power with attribute names of its own; a change of size restarts
// it.
var boxSchema = &schema.Resource{
	Block: schema.Block{Attributes: map[string]*schema.Attribute{
		"name":    {Type: cty.String, Required: true, ForceNew: true},
		"size":    {Type: cty.Number, Optional: true},
		"powered": {Type: cty.Bool, Optional: true},
		"id":      {Type: cty.String, Computed: true},
	}},
	IDAttr: "id",
	SSH:    true,
	Power: &schema.Power{
		Stopped: func(v cty.Value) bool {
			p := v.GetAttr("powered")
			return p.IsKnown() && !p.IsNull() && p.False()
		},
		Start: func(v cty.Value) cty.Value {
			m := v.AsValueMap()
			m["powered"] = cty.True
			return cty.ObjectVal(m)
		},
		Restarts: func(before, after cty.Value) bool { return !before.GetAttr("size").RawEquals(after.GetAttr("size")) },
	},
}

// machineProvider is the fake cloud with fake_machine; an update answers
// with hostScript as the machine's side of the change.
type machineProvider struct {
	*fakeProvider
	hostScript string
}

func (p *machineProvider) Schemas() schema.Schemas {
	s := p.fakeProvider.Schemas()
	s.Resources["fake_machine"] = boxSchema
	return s
}

func (p *machineProvider) Refresh(_ context.Context, req providers.RefreshRequest) providers.RefreshResponse {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]cty.Value, len(req.Resources))
	for i, r := range req.Resources {
		out[i] = cty.NullVal(boxSchema.ImpliedType())
		if v, ok := p.objects[r.State.GetAttr("id").AsString()]; ok {
			out[i] = v
		}
	}
	return providers.RefreshResponse{States: out}
}

func (p *machineProvider) ApplyChange(ctx context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	resp := p.fakeProvider.ApplyChange(ctx, req)
	if !req.Prior.IsNull() && !req.Planned.IsNull() {
		resp.HostScript = p.hostScript
	}
	return resp
}

// fakeHosts is an in-memory SSH transport: one machine whose layers are
// what its probe map says, and a log of every connection and request.
type fakeHosts struct {
	mu       sync.Mutex
	key      string
	openErr  string                           // Open fails with this summary
	probeErr string                           // Probe fails with this summary
	statuses map[string]providers.LayerStatus // probe results by layer name; absent: satisfied
	failAt   string                           // Converge fails at this layer
	// reconnectAfter names a layer after which the session logs in again
	// (as after a docker layer adds the user to the docker group);
	// reconnectErr makes that fail.
	reconnectAfter string
	reconnectErr   string
	noScripts      bool // sessions cannot run host scripts
	scriptExit     int
	slow           time.Duration // each layer takes this long

	opens      []providers.SSHTarget
	knownKeys  []string
	probes     [][]string
	converges  []providers.ConvergeRequest
	scripts    []string
	reconnects int
	closed     int
}

func newFakeHosts() *fakeHosts {
	return &fakeHosts{key: "ssh-ed25519 MACHINEKEY", statuses: map[string]providers.LayerStatus{}}
}

func (f *fakeHosts) LayerSchemas() map[string]*schema.Layer { return layers.Schemas() }

func (f *fakeHosts) Open(_ context.Context, t providers.SSHTarget, known string) (providers.HostSession, hcl.Diagnostics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens = append(f.opens, t)
	f.knownKeys = append(f.knownKeys, known)
	if f.openErr != "" {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: f.openErr}}
	}
	s := &fakeHostSession{f: f}
	if f.noScripts {
		return struct{ providers.HostSession }{s}, nil
	}
	return s, nil
}

type fakeHostSession struct{ f *fakeHosts }

func (s *fakeHostSession) HostKey() string { return s.f.key }

func (s *fakeHostSession) Probe(_ context.Context, req providers.ProbeRequest) providers.ProbeResponse {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	var names []string
	var out []providers.LayerStatus
	for _, l := range req.Layers {
		names = append(names, l.Addr.Name)
		st, ok := s.f.statuses[l.Addr.Name]
		if !ok {
			st = providers.LayerStatus{Satisfied: true}
		}
		st.Addr = l.Addr
		out = append(out, st)
	}
	s.f.probes = append(s.f.probes, names)
	if s.f.probeErr != "" {
		return providers.ProbeResponse{Diagnostics: providers.ErrorDiag(s.f.probeErr, "exit status 2")}
	}
	return providers.ProbeResponse{Statuses: out}
}

// Converge removes, then applies in order, stopping at the first failure,
// as the real session does.
func (s *fakeHostSession) Converge(_ context.Context, req providers.ConvergeRequest) providers.ConvergeResponse {
	f := s.f
	f.mu.Lock()
	f.converges = append(f.converges, req)
	f.mu.Unlock()
	for _, r := range req.Remove {
		req.Removed(r.Addr)
	}
	for _, l := range req.Layers {
		req.Output(l.Addr, "installing "+l.Addr.Name)
		time.Sleep(f.slow)
		if l.Addr.Name == f.failAt {
			return providers.ConvergeResponse{Failed: &l.Addr, Diagnostics: providers.ErrorDiag("Layer failed", "exit status 1")}
		}
		if l.Addr.Name == f.reconnectAfter {
			req.Output(l.Addr, "reconnecting")
			f.mu.Lock()
			f.reconnects++
			f.mu.Unlock()
			if f.reconnectErr != "" {
				return providers.ConvergeResponse{Failed: &l.Addr, Diagnostics: providers.ErrorDiag("Cannot reconnect", "%s", f.reconnectErr)}
			}
		}
		if req.Locked != nil {
			req.Locked(l.Addr, providers.LockFacts{})
		}
		req.Done(l.Addr)
	}
	return providers.ConvergeResponse{}
}

func (s *fakeHostSession) RunScript(_ context.Context, script string, output func(string)) (int, error) {
	s.f.mu.Lock()
	s.f.scripts = append(s.f.scripts, script)
	code := s.f.scriptExit
	s.f.mu.Unlock()
	output("script says hi")
	return code, nil
}

func (s *fakeHostSession) Close() error {
	s.f.mu.Lock()
	s.f.closed++
	s.f.mu.Unlock()
	return nil
}

// layerHooks records layer events as "start NAME", "done NAME", "fail
// NAME", "still NAME" and progress messages.
type layerHooks struct {
	NoHooks
	mu     sync.Mutex
	events []string
	still  int
}

func (h *layerHooks) add(s string) {
	h.mu.Lock()
	h.events = append(h.events, s)
	h.mu.Unlock()
}
func (h *layerHooks) LayerStart(l addrs.Layer, a Action) { h.add(a.Verb() + " " + l.Name) }
func (h *layerHooks) LayerDone(l addrs.Layer, a Action, _ time.Duration, d hcl.Diagnostics) {
	if d.HasErrors() {
		h.add("fail " + l.Name)
		return
	}
	h.add("done " + l.Name)
}
func (h *layerHooks) LayerStill(addrs.Layer, Action, time.Duration) {
	h.mu.Lock()
	h.still++
	h.mu.Unlock()
}
func (h *layerHooks) Progress(_ addrs.Resource, msg string) { h.add("progress " + msg) }

// machineWorld is one fake machine under test across several runs.
type machineWorld struct {
	t     *testing.T
	h     *harness
	prov  *machineProvider
	hosts *fakeHosts
	hooks *layerHooks
}

func newMachineWorld(t *testing.T) *machineWorld {
	h := newHarness(t)
	return &machineWorld{t: t, h: h, prov: &machineProvider{fakeProvider: h.fake}, hosts: newFakeHosts()}
}

// machineConfig declares fake_machine.box with the given layers (names;
// "name=content" sets a file's content) and running state.
func machineConfig(running bool, size int, names ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "resource \"fake_machine\" \"box\" {\n  name = \"box\"\n  size = %d\n  powered = %t\n  ssh { host = \"127.0.0.9\" }\n", size, running)
	for _, n := range names {
		name, content, _ := strings.Cut(n, "=")
		fmt.Fprintf(&b, "  layer \"file\" {\n    name = %q\n    destination = \"/tmp/%s\"\n    content = %q\n  }\n", name, name, content)
	}
	b.WriteString("}\n")
	return b.String()
}

// run plans and applies src, returning the plan and the apply's diagnostics.
func (w *machineWorld) run(src string) (*Plan, hcl.Diagnostics) {
	w.t.Helper()
	w.hooks = &layerHooks{}
	e := w.engine(src)
	e.Hooks = w.hooks
	p, ref := w.h.plan(e, PlanOptions{})
	w.hooks.events = nil
	ctx := context.Background()
	d := e.Apply(ctx, ctx, p, ref.State, ApplyOptions{TickInterval: time.Millisecond, Persist: func(s *state.State) error {
		w.h.st = s.DeepCopy()
		return nil
	}})
	return p, d
}

func (w *machineWorld) recorded() []string {
	var out []string
	if sr := w.h.st.Resource("fake_machine.box"); sr != nil {
		for _, l := range sr.Layers {
			out = append(out, l.Name)
		}
	}
	return out
}

func (w *machineWorld) lastConverge() (apply, remove []string) {
	w.t.Helper()
	if len(w.hosts.converges) == 0 {
		w.t.Fatal("no converge")
	}
	req := w.hosts.converges[len(w.hosts.converges)-1]
	for _, l := range req.Layers {
		apply = append(apply, l.Addr.Name)
	}
	for _, r := range req.Remove {
		remove = append(remove, r.Addr.Name)
	}
	return apply, remove
}

func layerActions(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		for _, lc := range c.Layers {
			out[lc.Addr.Name] = lc.Action.Verb()
		}
	}
	return out
}

// TestHostRunNewMachine: a machine created in this run boots (the long
// SSH wait), is not probed, gets every layer in order in one session, and
// the state records the layers and the host key seen at first contact.
func TestHostRunNewMachine(t *testing.T) {
	w := newMachineWorld(t)
	_, d := w.run(machineConfig(true, 1, "a", "b", "c"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(w.hosts.opens) != 1 || !w.hosts.opens[0].Booting || w.hosts.knownKeys[0] != "" || len(w.hosts.probes) != 0 {
		t.Fatalf("opens %+v known %q probes %v", w.hosts.opens, w.hosts.knownKeys, w.hosts.probes)
	}
	if got, _ := w.lastConverge(); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("converged %v", got)
	}
	if got := w.recorded(); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("recorded %v", got)
	}
	if got := w.h.st.Resource("fake_machine.box").HostKey; got != w.hosts.key {
		t.Errorf("host key %q", got)
	}
	want := []string{"progress connecting to ubuntu@127.0.0.9:22", "create a", "done a", "create b", "done b", "create c", "done c"}
	if !cmp.Equal(w.hooks.events, want) {
		t.Errorf("events %s", cmp.Diff(want, w.hooks.events))
	}
	if w.hosts.closed != 1 {
		t.Errorf("%d sessions closed", w.hosts.closed)
	}
}

// TestHostRunProbedChanges: on an existing machine the probe decides;
// only unsatisfied or edited layers are converged, over a session that
// demands the pinned key and does not wait for a boot.
func TestHostRunProbedChanges(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a", "b", "c")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	w.hosts.statuses["b"] = providers.LayerStatus{Present: true, Reasons: []string{"b differs"}}
	w.hosts.statuses["c"] = providers.LayerStatus{Reasons: []string{"c missing"}}
	p, d := w.run(machineConfig(true, 1, "a=edited", "b", "c"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if got, want := layerActions(p), map[string]string{"a": "update", "b": "update", "c": "create"}; !cmp.Equal(got, want) {
		t.Errorf("plan %v", got)
	}
	if got, _ := w.lastConverge(); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("converged %v", got)
	}
	req := w.hosts.converges[len(w.hosts.converges)-1]
	if !req.Layers[0].Reapply || req.Layers[1].Reapply {
		t.Errorf("reapply: %v %v", req.Layers[0].Reapply, req.Layers[1].Reapply)
	}
	last := len(w.hosts.opens) - 1
	if w.hosts.opens[last].Booting || w.hosts.knownKeys[last] != w.hosts.key {
		t.Errorf("apply session booting=%v known=%q", w.hosts.opens[last].Booting, w.hosts.knownKeys[last])
	}
	if want := []string{"update a", "done a", "update b", "done b", "create c", "done c"}; !cmp.Equal(w.hooks.events[1:], want) {
		t.Errorf("events %v", w.hooks.events)
	}

	// Everything satisfied: the plan has no layer changes and apply connects no more.
	w.hosts.statuses = map[string]providers.LayerStatus{}
	opens := len(w.hosts.opens)
	if _, d := w.run(machineConfig(true, 1, "a=edited", "b", "c")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(w.hosts.opens) != opens+1 {
		t.Errorf("%d connections for a no-op run, want the probe's only", len(w.hosts.opens)-opens)
	}
}

// TestHostRunPartialFailure: a layer that fails stops the converge; the
// layers before it stay recorded, the failed and later ones do not, and
// the error names the layers not run.
func TestHostRunPartialFailure(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts.failAt = "b"
	_, d := w.run(machineConfig(true, 1, "a", "b", "c", "d"))
	if !d.HasErrors() {
		t.Fatal("apply succeeded")
	}
	if got := w.recorded(); !cmp.Equal(got, []string{"a"}) {
		t.Errorf("recorded %v", got)
	}
	msg := d.Error()
	if !strings.Contains(msg, "fake_machine.box: Layer failed") ||
		!strings.Contains(msg, "Not run because of this failure: fake_machine.box.layer.c, fake_machine.box.layer.d.") {
		t.Errorf("diagnostics: %s", msg)
	}
	var subject *hcl.Range
	for _, x := range d {
		if x.Severity == hcl.DiagError {
			subject = x.Subject
		}
	}
	if subject == nil || subject.Start.Line != 11 {
		t.Errorf("subject %v, want layer b's block (line 11)", subject)
	}
	if want := []string{"create a", "done a", "create b", "fail b"}; !cmp.Equal(w.hooks.events[1:], want) {
		t.Errorf("events %v", w.hooks.events)
	}

	// The next run converges what is missing, the failed layer first.
	w.hosts.failAt = ""
	w.hosts.statuses["b"] = providers.LayerStatus{}
	w.hosts.statuses["c"] = providers.LayerStatus{}
	w.hosts.statuses["d"] = providers.LayerStatus{}
	if _, d := w.run(machineConfig(true, 1, "a", "b", "c", "d")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if got := w.recorded(); !cmp.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("recorded %v", got)
	}
}

// TestHostRunLastLayerFails: no "not run" sentence when nothing follows.
func TestHostRunLastLayerFails(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts.failAt = "b"
	_, d := w.run(machineConfig(true, 1, "a", "b"))
	if !d.HasErrors() || strings.Contains(d.Error(), "Not run") {
		t.Fatalf("diagnostics: %v", d)
	}
}

// TestHostRunReconnect: a session that logs in again mid-converge (the
// docker group) is the same session to the engine; a failed reconnect
// fails its layer, which stays unrecorded, and later layers do not run.
func TestHostRunReconnect(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts.reconnectAfter = "a"
	if _, d := w.run(machineConfig(true, 1, "a", "b")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if w.hosts.reconnects != 1 || len(w.hosts.opens) != 1 || !cmp.Equal(w.recorded(), []string{"a", "b"}) {
		t.Fatalf("reconnects %d opens %d recorded %v", w.hosts.reconnects, len(w.hosts.opens), w.recorded())
	}

	w2 := newMachineWorld(t)
	w2.hosts.reconnectAfter, w2.hosts.reconnectErr = "a", "connection refused"
	_, d := w2.run(machineConfig(true, 1, "a", "b"))
	if !d.HasErrors() || !strings.Contains(d.Error(), "Cannot reconnect") || !strings.Contains(d.Error(), "fake_machine.box.layer.b") {
		t.Fatalf("diagnostics: %v", d)
	}
	if got := w2.recorded(); len(got) != 0 {
		t.Errorf("recorded %v", got)
	}
}

// TestHostRunRemovedLayers: a layer dropped from the configuration is
// undone with its recorded kind and settings and leaves the state.
func TestHostRunRemovedLayers(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a", "b", "c")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	p, d := w.run(machineConfig(true, 1, "a", "c"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if got := layerActions(p); got["b"] != "delete" || got["a"] != "no-op" {
		t.Errorf("plan %v", got)
	}
	apply, remove := w.lastConverge()
	if len(apply) != 0 || !cmp.Equal(remove, []string{"b"}) {
		t.Errorf("apply %v remove %v", apply, remove)
	}
	rec := w.hosts.converges[len(w.hosts.converges)-1].Remove[0]
	if rec.Kind != "file" || rec.Config == cty.NilVal || rec.Config.GetAttr("destination").AsString() != "/tmp/b" {
		t.Errorf("removed record %+v", rec)
	}
	if got := w.recorded(); !cmp.Equal(got, []string{"a", "c"}) {
		t.Errorf("recorded %v", got)
	}
	if want := []string{"delete b", "done b"}; !cmp.Equal(w.hooks.events[1:], want) {
		t.Errorf("events %v", w.hooks.events)
	}
}

// TestHostRunOpenFails: a host that cannot be reached fails the resource
// with the transport's error, names the resource, and records no layer.
func TestHostRunOpenFails(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts.openErr = "SSH handshake failed"
	_, d := w.run(machineConfig(true, 1, "a"))
	if !d.HasErrors() || !strings.Contains(d.Error(), "fake_machine.box: SSH handshake failed") {
		t.Fatalf("diagnostics: %v", d)
	}
	if sr := w.h.st.Resource("fake_machine.box"); sr == nil || len(sr.Layers) != 0 || sr.HostKey != "" {
		t.Errorf("state %+v", sr)
	}
	if len(w.hosts.converges) != 0 {
		t.Error("converged without a session")
	}
}

// TestHostRunNoTransport: layers without an SSH transport are an error.
func TestHostRunNoTransport(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts = nil
	reg := providers.Registry{"fake": w.prov}
	schemas := reg.Schemas(layers.Schemas())
	cfg, diags := config.LoadFiles(t.TempDir(), map[string][]byte{"main.hcl": []byte(machineConfig(true, 1, "a"))}, config.LoadOptions{Schemas: schemas})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	e := &Engine{Config: cfg, Providers: reg, Schemas: schemas}
	p, ref := w.h.plan(e, PlanOptions{})
	d := w.h.apply(e, p, ref)
	if !d.HasErrors() || !strings.Contains(d.Error(), "No SSH transport") {
		t.Fatalf("diagnostics: %v", d)
	}
}

// TestHostRunHostScript: a provider's host script runs over the session
// after the cloud change, even with no layer to apply; its failure, or a
// session that cannot run it, is a warning and the change stands.
func TestHostRunHostScript(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	w.prov.hostScript = "resize2fs /dev/xvda1"
	converges := len(w.hosts.converges)
	_, d := w.run(machineConfig(true, 2, "a"))
	if d.HasErrors() || len(d) != 0 {
		t.Fatalf("diagnostics: %v", d)
	}
	if !cmp.Equal(w.hosts.scripts, []string{"resize2fs /dev/xvda1"}) || len(w.hosts.converges) != converges {
		t.Errorf("scripts %v, %d converges", w.hosts.scripts, len(w.hosts.converges)-converges)
	}
	if !contains(w.hooks.events, "progress script says hi") {
		t.Errorf("events %v", w.hooks.events)
	}

	w.hosts.scriptExit = 3
	_, d = w.run(machineConfig(true, 3, "a"))
	if d.HasErrors() || len(d) != 1 || !strings.Contains(d[0].Summary, "host step failed") || !strings.Contains(d[0].Detail, "exit status 3") {
		t.Fatalf("diagnostics: %v", d)
	}

	w.hosts.noScripts = true
	_, d = w.run(machineConfig(true, 4, "a"))
	if d.HasErrors() || len(d) != 1 || !strings.Contains(d[0].Summary, "host step skipped") {
		t.Fatalf("diagnostics: %v", d)
	}
	if w.h.st.Resource("fake_machine.box") == nil {
		t.Fatal("resource lost")
	}
}

// TestHostRunStoppedAndStarted: a stopped machine is neither probed nor
// converged; starting it waits for SSH (booting) even with nothing to
// apply, and its layers are left for the next plan.
func TestHostRunStoppedAndStarted(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	opens := len(w.hosts.opens)
	p, d := w.run(machineConfig(false, 1, "a"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(w.hosts.opens) != opens {
		t.Errorf("%d connections to a machine being stopped", len(w.hosts.opens)-opens)
	}
	if !strings.Contains(p.Changes[0].HostNote, "will be stopped") {
		t.Errorf("note %q", p.Changes[0].HostNote)
	}
	p, d = w.run(machineConfig(true, 1, "a"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(w.hosts.opens) != opens+1 || !w.hosts.opens[opens].Booting || len(w.hosts.probes) != 0 {
		t.Fatalf("opens %d (booting %v), probes %d", len(w.hosts.opens)-opens, w.hosts.opens[len(w.hosts.opens)-1].Booting, len(w.hosts.probes))
	}
	if !strings.Contains(p.Changes[0].HostNote, "checked by the next plan") {
		t.Errorf("note %q", p.Changes[0].HostNote)
	}
	if !contains(w.hooks.events, "progress waiting for SSH on ubuntu@127.0.0.9:22") {
		t.Errorf("events %v", w.hooks.events)
	}
}

// TestHostRunTicks: a long layer gets periodic LayerStill events.
func TestHostRunTicks(t *testing.T) {
	w := newMachineWorld(t)
	w.hosts.slow = 30 * time.Millisecond
	if _, d := w.run(machineConfig(true, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if w.hooks.still == 0 {
		t.Error("no LayerStill while a layer ran")
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// plan refreshes and plans src, returning the plan's diagnostics.
func (w *machineWorld) plan(src string) (*Plan, hcl.Diagnostics) {
	w.t.Helper()
	e := w.engine(src)
	ctx := context.Background()
	ref, d := e.Refresh(ctx, w.h.st, RefreshOptions{})
	if d.HasErrors() {
		w.t.Fatal(d.Error())
	}
	return e.Plan(ctx, ref, PlanOptions{})
}

// TestHostProbeFailures: a host that cannot be reached or probed at plan
// time fails the plan with the resource named.
func TestHostProbeFailures(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	w.hosts.openErr = "host unreachable"
	if _, d := w.plan(machineConfig(true, 1, "a")); !d.HasErrors() || !strings.Contains(d.Error(), "fake_machine.box: host unreachable") {
		t.Fatalf("diagnostics: %v", d)
	}
	w.hosts.openErr = ""
	w.hosts.probeErr = "probe script failed"
	if _, d := w.plan(machineConfig(true, 1, "a")); !d.HasErrors() || !strings.Contains(d.Error(), "fake_machine.box: probe script failed") {
		t.Fatalf("diagnostics: %v", d)
	}
}

// TestHostProbeStoppedStays: a machine that stays stopped is not probed and
// its layers are left as they are, with a note saying so.
func TestHostProbeStoppedStays(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(false, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	opens := len(w.hosts.opens)
	p, d := w.plan(machineConfig(false, 1, "a", "b"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if len(w.hosts.opens) != opens || p.Changes[0].HostNote != "the instance is stopped: its layers are not checked" {
		t.Errorf("%d opens, note %q", len(w.hosts.opens)-opens, p.Changes[0].HostNote)
	}
	if got := layerActions(p); !cmp.Equal(got, map[string]string{"a": "no-op", "b": "no-op"}) {
		t.Errorf("plan %v", got)
	}
}

// TestHostProbeUnknownSettings: a layer whose settings are known only
// after apply is not probed and is planned as an update.
func TestHostProbeUnknownSettings(t *testing.T) {
	w := newMachineWorld(t)
	src := func(thing string) string {
		return `resource "fake_thing" "x" { name = "` + thing + `" }
` + strings.Replace(machineConfig(true, 1, "a", "b=B"), `content = "B"`, "content = fake_thing.x.id", 1)
	}
	if _, d := w.run(src("one")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	p, d := w.plan(src("two"))
	if d.HasErrors() {
		t.Fatal(d.Error())
	}
	if got := layerActions(p); !cmp.Equal(got, map[string]string{"a": "no-op", "b": "update"}) {
		t.Errorf("plan %v", got)
	}
	if probed := w.hosts.probes[len(w.hosts.probes)-1]; !cmp.Equal(probed, []string{"a"}) {
		t.Errorf("probed %v", probed)
	}
}

// TestHostStatus: mlops status probes a running machine's layers over one
// connection with a short SSH wait, reports an unreachable one, and does
// not contact a stopped one.
func TestHostStatus(t *testing.T) {
	w := newMachineWorld(t)
	src := machineConfig(true, 1, "a", "b")
	if _, d := w.run(src); d.HasErrors() {
		t.Fatal(d.Error())
	}
	w.hosts.statuses["b"] = providers.LayerStatus{Reasons: []string{"b missing"}}
	e := w.engine(src)
	opens := len(w.hosts.opens)
	ms, d := e.Status(context.Background(), w.h.st)
	if d.HasErrors() || len(ms) != 1 {
		t.Fatalf("%v %v", ms, d)
	}
	m := ms[0]
	if m.Stopped || len(m.Layers) != 2 || !m.Layers[0].Satisfied || m.Layers[1].Satisfied || len(w.hosts.opens) != opens+1 {
		t.Fatalf("status %+v", m)
	}
	if to := w.hosts.opens[opens].Timeout; to <= 0 || to > statusSSHTimeout || w.hosts.knownKeys[opens] != w.hosts.key {
		t.Errorf("timeout %v known %q", to, w.hosts.knownKeys[opens])
	}

	w.hosts.openErr = "connection refused"
	ms, _ = e.Status(context.Background(), w.h.st)
	if len(ms[0].Layers) != 0 || !strings.Contains(ms[0].Diagnostics.Error(), "fake_machine.box: connection refused") {
		t.Errorf("unreachable status %+v", ms[0])
	}

	w.hosts.openErr = ""
	if _, d := w.run(machineConfig(false, 1, "a", "b")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	opens = len(w.hosts.opens)
	ms, _ = w.engine(machineConfig(false, 1, "a", "b")).Status(context.Background(), w.h.st)
	if !ms[0].Stopped || len(w.hosts.opens) != opens || ms[0].SSH.Host != "127.0.0.9" {
		t.Errorf("stopped status %+v, %d opens", ms[0], len(w.hosts.opens)-opens)
	}
}

// engine loads src against the world's provider and transport.
func (w *machineWorld) engine(src string) *Engine {
	w.t.Helper()
	reg := providers.Registry{"fake": w.prov}
	schemas := reg.Schemas(layers.Schemas())
	cfg, diags := config.LoadFiles(w.t.TempDir(), map[string][]byte{"main.hcl": []byte(src)}, config.LoadOptions{Schemas: schemas})
	if diags.HasErrors() {
		w.t.Fatalf("config: %s", diags.Error())
	}
	return &Engine{Config: cfg, Providers: reg, Schemas: schemas, Hosts: w.hosts}
}

// TestHostRunRestartBoots: an update the provider says restarts the
// machine (schema.Power.Restarts) gets the long SSH wait of a boot.
func TestHostRunRestartBoots(t *testing.T) {
	w := newMachineWorld(t)
	if _, d := w.run(machineConfig(true, 1, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	w.hosts.statuses["a"] = providers.LayerStatus{}
	if _, d := w.run(machineConfig(true, 2, "a")); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if last := w.hosts.opens[len(w.hosts.opens)-1]; !last.Booting {
		t.Error("a restarting machine is not waited for")
	}
}

// TestHostPowerStart: Engine.Start (mlops ssh waking a machine) applies
// the value the provider's Power.Start makes, and leaves a running
// machine alone.
func TestHostPowerStart(t *testing.T) {
	w := newMachineWorld(t)
	src := machineConfig(false, 1, "a")
	if _, d := w.run(src); d.HasErrors() {
		t.Fatal(d.Error())
	}
	addr := ra("fake_machine.box")
	e := w.engine(src)
	st, started, d := e.Start(context.Background(), w.h.st, addr, nil)
	if d.HasErrors() || !started {
		t.Fatalf("started %v: %v", started, d)
	}
	if !strings.Contains(string(st.Resource("fake_machine.box").Attributes), `"powered":true`) {
		t.Errorf("state after start: %s", st.Resource("fake_machine.box").Attributes)
	}
	if _, started, d := e.Start(context.Background(), st, addr, nil); d.HasErrors() || started {
		t.Errorf("a running machine was started again: %v", d)
	}
}
