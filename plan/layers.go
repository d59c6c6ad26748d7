package plan

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// sshTarget converts evaluated ssh settings into the provider form.
func sshTarget(s config.SSHSettings) providers.SSHTarget {
	return providers.SSHTarget{Host: s.Host, Port: s.Port, User: s.User, PrivateKeyFile: s.PrivateKey,
		HostKey: s.HostKey, Timeout: s.Timeout, Alias: s.Alias, StrictHostKey: s.StrictHostKey,
		AuthorizedKeys: s.AuthorizedKeys}
}

// evalHost evaluates the ssh block and layers of a resource with self bound.
func (e *Engine) evalHost(addr addrs.Resource, vals config.Values, self cty.Value) (config.SSHSettings, []providers.Layer, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ssh, d := e.Config.EvalSSH(addr, vals, self)
	diags = append(diags, d...)
	lvs, d := e.Config.EvalLayers(addr, vals, self)
	diags = append(diags, d...)
	layers := make([]providers.Layer, 0, len(lvs))
	for _, lv := range lvs {
		layers = append(layers, providers.Layer{Addr: lv.Addr, Kind: lv.Kind, Config: lv.Config, Digest: providers.LayerDigest(lv.Kind, lv.Config),
			Lock: e.layerLock(lv.Addr)})
	}
	return ssh, layers, diags
}

type probeJob struct {
	change   *Change
	target   providers.SSHTarget
	knownKey string
	layers   []providers.Layer
	recorded map[string]*state.Layer
}

// planLayers fills in the layer changes of every host: new hosts get all
// their layers; existing hosts are probed, all hosts in parallel, each in
// one SSH connection and one round trip.
func (e *Engine) planLayers(ctx context.Context, ref *Refreshed, p *Plan, vals config.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var jobs []*probeJob
	for _, ch := range p.Changes {
		job, d := e.planHostLayers(ref, ch, vals)
		diags = append(diags, d...)
		if job != nil {
			jobs = append(jobs, job)
		}
	}
	if len(jobs) == 0 {
		return diags
	}
	if e.Hosts == nil {
		return append(diags, errDiag("No SSH transport", "layers are configured but no SSH transport is available"))
	}
	return append(diags, e.probeHosts(ctx, jobs)...)
}

// planHostLayers fills in the layer changes of one host that need no
// probe, and returns the probe job of one that does (nil: none).
func (e *Engine) planHostLayers(ref *Refreshed, ch *Change, vals config.Values) (*probeJob, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	cr := e.Config.Resources[ch.Addr.NoKey()]
	if cr != nil && cr.SSH == nil && ch.Action != Delete {
		diags = append(diags, e.unreachableSteps(ch)...)
	}
	if cr == nil || cr.SSH == nil || ch.Action == Delete {
		return nil, diags
	}
	sr := ref.State.Resource(ch.Addr.String())
	self := ch.Before
	if ch.Action == Create || ch.Action == Replace {
		self = ch.After
	}
	ssh, layers, d := e.evalHost(ch.Addr, vals, self)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	layers, d = e.withHostSteps(ch.Addr, ch.After, layers)
	diags = append(diags, d...)
	removed := removedLayers(ch, sr, layers)
	newMachine := (ch.Action == Create || ch.Action == Replace) && !cr.Schema.Existing
	switch {
	case newMachine:
		for _, l := range layers {
			ch.Layers = append(ch.Layers, &LayerChange{Addr: l.Addr, Kind: l.Kind, Action: Create, Digest: l.Digest, Reasons: []string{"new host"}})
		}
		ch.Layers = append(ch.Layers, removed...)
		return nil, diags
	case e.isStopped(ch.Addr, ch.Before) || e.isStopped(ch.Addr, ch.After):
		ch.HostNote = e.stoppedNote(ch)
		for _, l := range layers {
			ch.Layers = append(ch.Layers, &LayerChange{Addr: l.Addr, Kind: l.Kind, Action: NoOp, Digest: l.Digest})
		}
		return nil, diags
	case len(layers) == 0:
		ch.Layers = append(ch.Layers, removed...)
		return nil, diags
	case !ssh.Known:
		ch.HostNote = "the SSH address is known only after apply: layers will be checked then"
		for _, l := range layers {
			ch.Layers = append(ch.Layers, &LayerChange{Addr: l.Addr, Kind: l.Kind, Action: Update, Digest: l.Digest, Reasons: []string{"host address known after apply"}})
		}
		ch.Layers = append(ch.Layers, removed...)
		return nil, diags
	}
	ch.Layers = append(ch.Layers, removed...)
	return e.newProbeJob(ch, sr, ssh, layers), diags
}

// newProbeJob is the probe of one existing host: its target, the key
// pinned in state and the layers it records (none for a replacement).
func (e *Engine) newProbeJob(ch *Change, sr *state.Resource, ssh config.SSHSettings, layers []providers.Layer) *probeJob {
	recorded := map[string]*state.Layer{}
	knownKey := ""
	if sr != nil {
		knownKey = sr.HostKey
		if ch.Action != Replace && ch.Action != Create {
			for _, l := range sr.Layers {
				recorded[l.Name] = l
			}
		}
	}
	return &probeJob{change: ch, target: e.hostTarget(ch.Addr, ssh), knownKey: knownKey, layers: layers, recorded: recorded}
}

// removedLayers are the layers recorded in state but removed from the
// configuration (a replacement starts from nothing: none).
func removedLayers(ch *Change, sr *state.Resource, layers []providers.Layer) []*LayerChange {
	if sr == nil || ch.Action == Replace {
		return nil
	}
	configured := map[string]bool{}
	for _, l := range layers {
		configured[l.Addr.Name] = true
	}
	var removed []*LayerChange
	for _, l := range sr.Layers {
		if !configured[l.Name] {
			removed = append(removed, &LayerChange{Addr: addrs.Layer{Resource: ch.Addr, Name: l.Name}, Kind: l.Kind,
				Action: Delete, Reasons: []string{"it is no longer in the configuration"}})
		}
	}
	return removed
}

// stoppedNote says why the layers of a stopped (or stopping) machine are
// not checked.
func (e *Engine) stoppedNote(ch *Change) string {
	before, after := e.isStopped(ch.Addr, ch.Before), e.isStopped(ch.Addr, ch.After)
	var note string
	switch {
	case !before:
		note = "the instance will be stopped (running = false): its layers are not checked"
	case !after:
		note = "the instance is stopped: its layers are checked by the next plan, once it runs"
	default:
		note = "the instance is stopped: its layers are not checked"
	}
	if why := e.stopReason(ch.Addr, ch.Before); why != "" && before && after {
		note = "it was " + why + "; " + note
	}
	return note
}

// probeHosts probes the hosts of jobs in parallel and puts the probed
// layer changes first in each change, in configuration order.
func (e *Engine) probeHosts(ctx context.Context, jobs []*probeJob) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallelism())
	for _, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			lcs, d := e.probeHost(ctx, job)
			mu.Lock()
			defer mu.Unlock()
			diags = append(diags, d...)
			// Probed layers come first, in config order; removals after.
			job.change.Layers = append(lcs, job.change.Layers...)
		}()
	}
	wg.Wait()
	return diags
}

func (e *Engine) probeHost(ctx context.Context, job *probeJob) ([]*LayerChange, hcl.Diagnostics) {
	addr := job.change.Addr
	var diags hcl.Diagnostics
	var probe []providers.Layer
	out := make([]*LayerChange, len(job.layers))
	for i, l := range job.layers {
		out[i] = &LayerChange{Addr: l.Addr, Kind: l.Kind, Digest: l.Digest}
		if !l.Config.IsWhollyKnown() {
			out[i].Action = Update
			out[i].Reasons = []string{"its settings are known only after apply"}
			continue
		}
		probe = append(probe, l)
	}
	if len(probe) == 0 {
		return out, nil
	}
	e.hooks().Probing(addr, fmt.Sprintf("%s@%s:%d", job.target.User, job.target.Host, job.target.Port))
	// A plan creates and starts nothing: the host should be up, and a
	// short retry tells when it is not (see providers.SSHTarget.Booting).
	target := job.target
	target.Progress = func(msg string) { e.hooks().Progress(addr, msg) }
	sess, d := e.Hosts.Open(ctx, target, job.knownKey)
	if d.HasErrors() {
		return out, withSubject(prefixDiags(d, addr.String()), e.Config.Resources[addr.NoKey()].DeclRange)
	}
	defer sess.Close()
	e.sawHostKey(addr, job.target, job.knownKey, sess.HostKey())
	resp := sess.Probe(ctx, providers.ProbeRequest{Layers: probe})
	diags = append(diags, prefixDiags(resp.Diagnostics, addr.String())...)
	if resp.Diagnostics.HasErrors() {
		return out, diags
	}
	statuses := map[addrs.Layer]providers.LayerStatus{}
	for _, s := range resp.Statuses {
		statuses[s.Addr] = s
	}
	for _, lc := range out {
		if lc.Action != NoOp {
			continue
		}
		st, ok := statuses[lc.Addr]
		if !ok {
			continue
		}
		rec := job.recorded[lc.Addr.Name]
		lc.Found = st.Lock
		lc.Upgrade = st.Upgrade
		switch {
		case !st.Satisfied && st.Present:
			lc.Action = Update
			lc.Reasons = st.Reasons
		case !st.Satisfied:
			lc.Action = Create
			lc.Reasons = st.Reasons
		case rec != nil && rec.Digest != lc.Digest:
			lc.Action = Update
			lc.Reapply = true
			lc.Reasons = []string{"its settings changed since it was applied"}
		}
	}
	return out, diags
}

// prefixDiags names the resource in diagnostics that come from a host.
func prefixDiags(diags hcl.Diagnostics, prefix string) hcl.Diagnostics {
	for _, d := range diags {
		d.Summary = prefix + ": " + d.Summary
	}
	return diags
}
