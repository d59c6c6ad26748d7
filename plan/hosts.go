package plan

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
)

// hostRun is the host side of one resource in an apply: the planned layer
// changes (and a provider's host script) carried out over one SSH session.
type hostRun struct {
	a    *applier
	ch   *Change
	addr addrs.Resource
	cr   *config.Resource
	h    Hooks
	// fresh means the machine is new: every layer is applied.
	fresh bool
	// waitSSH connects even when there is nothing to apply (a machine
	// this run started must prove it is back).
	waitSSH    bool
	hostScript string

	ssh      config.SSHSettings
	toApply  []providers.Layer
	remove   []providers.LayerRecord
	knownKey string
}

// convergeHost applies the planned layer changes of one host over one
// SSH session. fresh means the machine is new: every layer is applied.
// waitSSH connects even when there is nothing to apply.
func (a *applier) convergeHost(ctx context.Context, ch *Change, fresh, waitSSH bool, hostScript string) bool {
	r := &hostRun{a: a, ch: ch, addr: ch.Addr, cr: a.e.Config.Resources[ch.Addr.NoKey()], h: a.e.hooks(),
		fresh: fresh, waitSSH: waitSSH, hostScript: hostScript}
	return r.run(ctx)
}

func (r *hostRun) run(ctx context.Context) bool {
	if !r.prepare() {
		return false
	}
	layerWork := len(r.toApply) > 0 || len(r.remove) > 0
	if !layerWork && !r.waitSSH && r.hostScript == "" {
		return true
	}
	if r.a.e.Hosts == nil {
		r.a.addDiag(errDiag("No SSH transport", "layers are configured but no SSH transport is available"))
		return false
	}
	sess, ok := r.open(ctx, layerWork)
	if !ok {
		return false
	}
	defer sess.Close()
	if r.hostScript != "" {
		r.a.runHostScript(ctx, r.addr, sess, r.hostScript, r.cr.DeclRange)
	}
	if !layerWork {
		return true
	}
	return r.converge(ctx, sess)
}

// prepare evaluates the host's ssh block and layers with the applied
// values and works out what to apply and what to remove.
func (r *hostRun) prepare() bool {
	vals := r.a.snapshotVals()
	self := vals[r.addr]
	ssh, layers, d := r.a.e.evalHost(r.addr, vals, self)
	if !d.HasErrors() {
		layers, d = r.a.e.withHostSteps(r.addr, self, layers)
	}
	if d.HasErrors() {
		r.a.addDiag(d...)
		return false
	}
	if !ssh.Known {
		r.a.addDiag(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: r.addr.String() + ": SSH settings unknown",
			Detail: "The ssh block still has unknown values after the resource was applied.", Subject: r.cr.SSH.DeclRange.Ptr()})
		return false
	}
	r.ssh = ssh
	r.toApply = r.selectLayers(layers)
	r.a.mu.Lock()
	defer r.a.mu.Unlock()
	if sr := r.a.st.Resource(r.addr.String()); sr != nil {
		r.knownKey = sr.HostKey
		r.remove = r.removals()
	}
	return true
}

// selectLayers keeps the layers the plan changes (all of them on a fresh
// machine), marking those to re-run although their probe is satisfied.
func (r *hostRun) selectLayers(layers []providers.Layer) []providers.Layer {
	want := map[string]*LayerChange{}
	for _, lc := range r.ch.Layers {
		if lc.Action != NoOp {
			want[lc.Addr.Name] = lc
		}
	}
	var out []providers.Layer
	for _, l := range layers {
		if lc := want[l.Addr.Name]; r.fresh || lc != nil {
			l.Reapply = lc != nil && lc.Reapply
			out = append(out, l)
		}
	}
	return out
}

// removals are the state's records of the layers the plan deletes, with
// the settings they were applied with. The caller holds a.mu.
func (r *hostRun) removals() []providers.LayerRecord {
	sr := r.a.st.Resource(r.addr.String())
	var out []providers.LayerRecord
	for _, lc := range r.ch.Layers {
		if lc.Action != Delete {
			continue
		}
		for _, rec := range sr.Layers {
			if rec.Name == lc.Addr.Name {
				out = append(out, providers.LayerRecord{Addr: lc.Addr, Kind: rec.Kind, Digest: rec.Digest, Config: decodeLayerConfig(r.a.e, rec)})
			}
		}
	}
	return out
}

// open connects to the host and pins its key in state.
func (r *hostRun) open(ctx context.Context, layerWork bool) (providers.HostSession, bool) {
	a, addr, ssh := r.a, r.addr, r.ssh
	if layerWork {
		r.h.Progress(addr, fmt.Sprintf("connecting to %s@%s:%d", ssh.User, ssh.Host, ssh.Port))
	} else {
		r.h.Progress(addr, fmt.Sprintf("waiting for SSH on %s@%s:%d", ssh.User, ssh.Host, ssh.Port))
	}
	target := a.e.hostTarget(addr, ssh)
	// The long wait is for a machine this run created or started (or
	// stopped and started to change its type); one that was running gets
	// a short retry and a clear error.
	target.Booting = r.fresh || r.waitSSH || a.e.rebooted(r.ch)
	target.Progress = func(msg string) { r.h.Progress(addr, msg) }
	sess, d := a.e.Hosts.Open(ctx, target, r.knownKey)
	if d.HasErrors() {
		a.addDiag(withSubject(prefixDiags(d, addr.String()), r.cr.DeclRange)...)
		return nil, false
	}
	a.e.sawHostKey(addr, target, r.knownKey, sess.HostKey())
	a.mu.Lock()
	defer a.mu.Unlock()
	if sr := a.st.Resource(addr.String()); sr != nil && sr.HostKey != sess.HostKey() {
		sr.HostKey = sess.HostKey()
		a.persistLocked()
	}
	return sess, true
}

// converge applies and removes the layers over sess, recording each one in
// the state as it finishes, so that a failure keeps what was done.
func (r *hostRun) converge(ctx context.Context, sess providers.HostSession) bool {
	clock := newLayerClock(r.a.opts.Now, r.h)
	defer clock.tick(r.a.opts.TickInterval)()
	if len(r.toApply) > 0 {
		clock.begin(r.toApply[0].Addr, r.actionOf(r.toApply[0].Addr))
	}
	out := &layerOutputFilter{e: r.a.e, h: r.h}
	resp := sess.Converge(ctx, providers.ConvergeRequest{
		Layers: r.toApply,
		Remove: r.remove,
		Output: func(l addrs.Layer, line string) {
			clock.begin(l, r.actionOf(l))
			out.line(l, line)
		},
		Done: func(l addrs.Layer) { r.layerDone(clock, l) },
		Locked: func(l addrs.Layer, f providers.LockFacts) {
			r.a.mu.Lock()
			defer r.a.mu.Unlock()
			r.a.recordLockFactsLocked(l, f)
		},
		Removed: func(l addrs.Layer) { r.layerRemoved(clock, l) },
	})
	if resp.Failed != nil {
		clock.finish(*resp.Failed)
		suppressSensitiveFailure(r.a.e, *resp.Failed, resp.Diagnostics)
		r.h.LayerDone(*resp.Failed, r.actionOf(*resp.Failed), clock.elapsed(*resp.Failed), resp.Diagnostics)
	}
	if resp.Diagnostics.HasErrors() {
		r.reportFailure(resp)
		return false
	}
	return true
}

// actionOf is the planned action of a layer being applied.
func (r *hostRun) actionOf(l addrs.Layer) Action {
	for _, lc := range r.ch.Layers {
		if lc.Addr == l && lc.Action != NoOp {
			return lc.Action
		}
	}
	return Create
}

// layerDone records an applied layer; the next one starts now.
func (r *hostRun) layerDone(clock *layerClock, l addrs.Layer) {
	clock.begin(l, r.actionOf(l))
	clock.finish(l)
	r.h.LayerDone(l, r.actionOf(l), clock.elapsed(l), nil)
	for i, x := range r.toApply {
		if x.Addr.Name != l.Name {
			continue
		}
		r.a.mu.Lock()
		r.a.recordLayerLocked(r.addr, x)
		r.a.mu.Unlock()
		if i+1 < len(r.toApply) {
			clock.begin(r.toApply[i+1].Addr, r.actionOf(r.toApply[i+1].Addr))
		}
	}
}

// layerRemoved drops an undone layer's record from the state.
func (r *hostRun) layerRemoved(clock *layerClock, l addrs.Layer) {
	clock.begin(l, Delete)
	clock.finish(l)
	r.h.LayerDone(l, Delete, clock.elapsed(l), nil)
	r.a.mu.Lock()
	defer r.a.mu.Unlock()
	sr := r.a.st.Resource(r.addr.String())
	if sr == nil {
		return
	}
	kept := sr.Layers[:0]
	for _, rec := range sr.Layers {
		if rec.Name != l.Name {
			kept = append(kept, rec)
		}
	}
	sr.Layers = kept
	r.a.persistLocked()
}

// reportFailure adds a converge's diagnostics, pointing at the failing
// layer block and naming the layers that did not run.
func (r *hostRun) reportFailure(resp providers.ConvergeResponse) {
	subject := r.cr.DeclRange
	if resp.Failed != nil {
		for _, cl := range r.cr.Layers {
			if cl.Addr == *resp.Failed {
				subject = cl.DeclRange
			}
		}
		if skipped := r.notRun(*resp.Failed); len(skipped) > 0 {
			for _, d := range resp.Diagnostics {
				if d.Severity == hcl.DiagError {
					d.Detail += "\n\nNot run because of this failure: " + strings.Join(skipped, ", ") + "."
					break
				}
			}
		}
	}
	r.a.addDiag(withSubject(prefixDiags(resp.Diagnostics, r.addr.String()), subject)...)
}

// notRun lists the layers after failed that the converge skipped.
func (r *hostRun) notRun(failed addrs.Layer) []string {
	var skipped []string
	for i, l := range r.toApply {
		if l.Addr == failed {
			for _, rest := range r.toApply[i+1:] {
				skipped = append(skipped, rest.Addr.String())
			}
		}
	}
	return skipped
}

// layerClock times the layers of one converge for the hooks: when each
// started, which one runs now (for the periodic LayerStill).
type layerClock struct {
	now     func() time.Time
	h       Hooks
	mu      sync.Mutex
	starts  map[addrs.Layer]time.Time
	current *addrs.Layer
	action  Action
}

func newLayerClock(now func() time.Time, h Hooks) *layerClock {
	return &layerClock{now: now, h: h, starts: map[addrs.Layer]time.Time{}}
}

// begin starts a layer's clock and announces it, once.
func (c *layerClock) begin(l addrs.Layer, act Action) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.starts[l]; !ok {
		c.starts[l] = c.now()
		c.current, c.action = &l, act
		c.h.LayerStart(l, act)
	}
}

// finish says l no longer runs.
func (c *layerClock) finish(l addrs.Layer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != nil && *c.current == l {
		c.current = nil
	}
}

func (c *layerClock) elapsed(l addrs.Layer) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Sub(c.starts[l])
}

// tick reports the running layer every interval until the returned stop
// function is called; stop returns once the ticker has exited.
func (c *layerClock) tick(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.mu.Lock()
				if c.current != nil {
					c.h.LayerStill(*c.current, c.action, c.now().Sub(c.starts[*c.current]))
				}
				c.mu.Unlock()
			}
		}
	}()
	return func() { close(done); <-exited }
}
