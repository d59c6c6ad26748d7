package layers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// Engine probes and converges the layers of one host through a Runner. The
// SSH transport builds its providers.HostSession around an Engine: Probe and
// Converge delegate here with the session's Runner, HostKey and Close stay
// with the transport. The zero Engine is ready to use; it keeps no state
// between calls, so one Engine can serve many hosts at once.
type Engine struct {
	// Nonce returns the marker that tells fact lines in a probe's output from
	// anything else the host prints. nil: 16 random hex digits per probe.
	Nonce func() string
}

// tailLines is how many of a failed layer's last output lines its
// diagnostic quotes.
const tailLines = 20

func (e *Engine) nonce() string {
	if e.Nonce != nil {
		return e.Nonce()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// decode validates a layer's config and reads it into its kind's spec.
func decode(kindName string, cfg cty.Value) (spec, error) {
	k, ok := sharedKinds()[kindName]
	if !ok {
		k, ok = sharedInternalKinds()[kindName]
	}
	if !ok {
		return nil, fmt.Errorf("unknown layer kind %q", kindName)
	}
	if err := validateConfig(k.schema, cfg); err != nil {
		return nil, err
	}
	return k.decode(cfg)
}

// Probe checks all layers of req with one Runner.Capture: one remote script
// that runs every layer's read-only probe and reports facts, judged here. It
// returns one status per layer, in order, or diagnostics and no statuses.
func (e *Engine) Probe(ctx context.Context, r Runner, req providers.ProbeRequest) providers.ProbeResponse {
	var resp providers.ProbeResponse
	specs := make([]spec, len(req.Layers))
	for i, l := range req.Layers {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			resp.Diagnostics = append(resp.Diagnostics, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid layer " + l.Addr.String(),
				Detail:   err.Error(),
			})
		}
		specs[i] = s
	}
	if resp.Diagnostics.HasErrors() {
		return resp
	}
	if len(specs) == 0 {
		resp.Statuses = []providers.LayerStatus{}
		return resp
	}
	results, diags := e.probe(ctx, r, req.Layers, specs)
	if diags.HasErrors() {
		resp.Diagnostics = diags
		return resp
	}
	for i, res := range results {
		pkgs := upgradeOf(req.Layers[i], specs[i])
		st := upgradeStatus(pkgs, res.facts, specs[i].status(res.facts))
		ls := providers.LayerStatus{
			Addr: req.Layers[i].Addr, Satisfied: st.satisfied, Present: st.present, Reasons: st.reasons,
		}
		if lk, ok := specs[i].(locker); ok && st.satisfied {
			ls.Lock = lk.lockFacts(res.facts, nil)
		}
		if in, ok := specs[i].(interface{ info(facts) string }); ok {
			ls.Info = in.info(res.facts)
		}
		if len(pkgs) > 0 {
			ls.Upgrade = upgradeFacts(pkgs, res.facts)
		}
		resp.Statuses = append(resp.Statuses, ls)
	}
	return resp
}

// probe runs the probe script of specs in one round trip and parses it.
func (e *Engine) probe(ctx context.Context, r Runner, layers []providers.Layer, specs []spec) ([]probeResult, hcl.Diagnostics) {
	nonce := e.nonce()
	budget := probeBudget(specs)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	stdout, stderr, code, err := r.Capture(ctx, probeScript(nonce, withCandidates(layers, specs)))
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("it did not finish within %v (a probe that hangs; shell layers bound their check with timeout): %w", budget, err)
	}
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot probe the layers of " + layers[0].Addr.Resource.String(),
			Detail:   "Running the probe script failed: " + err.Error(),
		}}
	}
	results, perr := parseProbe(nonce, len(specs), stdout)
	detail := func(msg string) string {
		msg += fmt.Sprintf(" The probe script exited with status %d.", code)
		if t := lastLines(string(stderr), tailLines); t != "" {
			msg += " Its last error output:\n" + t
		}
		return msg
	}
	if perr != nil {
		summary := "Cannot probe the layers of " + layers[0].Addr.Resource.String()
		if se, ok := perr.(*sectionError); ok {
			summary = "Cannot probe layer " + layers[se.index].Addr.String()
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail(perr.Error() + ".")}}
	}
	var diags hcl.Diagnostics
	for i, res := range results {
		if res.exit != 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot probe layer " + layers[i].Addr.String(),
				Detail:   detail(fmt.Sprintf("Its probe exited with status %d.", res.exit)),
			})
		}
	}
	return results, diags
}

// Converge first undoes req.Remove, then applies req.Layers in order. Each
// layer is probed again just before it runs (one Capture), and a layer that
// is already satisfied does nothing; otherwise its action runs as one
// Runner.Run script doing only the missing steps, and a last probe confirms
// the layer is satisfied. After a docker layer that added users to the
// docker group, the Runner reconnects so later layers run in a login that is
// in the group. The first failure stops everything: Failed names its layer
// and the diagnostic quotes the layer's last output lines.
func (e *Engine) Converge(ctx context.Context, r Runner, req providers.ConvergeRequest) providers.ConvergeResponse {
	c := &converge{e: e, r: r, req: req}
	return c.run(ctx)
}

type converge struct {
	e   *Engine
	r   Runner
	req providers.ConvergeRequest
	// aptReady is set once a script that uses apt ran: cloud-init has finished.
	aptReady bool
	// nonce marks the records converge scripts print for the engine
	// (download checksums); sums collects them, URL -> sha256.
	nonce string
	sums  map[string]string
}

func (c *converge) output(addr addrs.Layer, line string) {
	if c.req.Output != nil {
		c.req.Output(addr, line)
	}
}

func (c *converge) fail(addr addrs.Layer, summary, detail string) providers.ConvergeResponse {
	a := addr
	return providers.ConvergeResponse{Failed: &a, Diagnostics: hcl.Diagnostics{{
		Severity: hcl.DiagError, Summary: summary, Detail: detail,
	}}}
}

func (c *converge) run(ctx context.Context) providers.ConvergeResponse {
	specs := make([]spec, len(c.req.Layers))
	for i, l := range c.req.Layers {
		s, err := decode(l.Kind, l.Config)
		if err != nil {
			return c.fail(l.Addr, "Invalid layer "+l.Addr.String(), err.Error())
		}
		specs[i] = s
	}
	for _, rec := range c.req.Remove {
		if err := ctx.Err(); err != nil {
			return c.fail(rec.Addr, "Interrupted before removing layer "+rec.Addr.String(), err.Error())
		}
		if resp, failed := c.remove(ctx, rec, specs); failed {
			return resp
		}
	}
	for i, l := range c.req.Layers {
		if err := ctx.Err(); err != nil {
			return c.fail(l.Addr, "Interrupted before layer "+l.Addr.String(), err.Error())
		}
		if resp, failed := c.apply(ctx, l, specs[i]); failed {
			return resp
		}
		if c.req.Done != nil {
			c.req.Done(l.Addr)
		}
	}
	return providers.ConvergeResponse{}
}

// remove undoes one layer deleted from the configuration.
func (c *converge) remove(ctx context.Context, rec providers.LayerRecord, current []spec) (providers.ConvergeResponse, bool) {
	done := func() (providers.ConvergeResponse, bool) {
		if c.req.Removed != nil {
			c.req.Removed(rec.Addr)
		}
		return providers.ConvergeResponse{}, false
	}
	if rec.Config == cty.NilVal || rec.Config.IsNull() {
		c.output(rec.Addr, "left in place: the state does not record how this layer was configured")
		return done()
	}
	s, err := decode(rec.Kind, rec.Config)
	if err != nil {
		c.output(rec.Addr, "left in place: its recorded configuration cannot be read: "+err.Error())
		return done()
	}
	var w script
	if note := s.remove(&w, current); note != "" {
		c.output(rec.Addr, note)
		return done()
	}
	if resp, failed := c.runScript(ctx, rec.Addr, rec.Kind, &w); failed {
		return resp, true
	}
	return done()
}

// apply converges one layer.
func (c *converge) apply(ctx context.Context, l providers.Layer, s spec) (providers.ConvergeResponse, bool) {
	one := []providers.Layer{l}
	results, diags := c.e.probe(ctx, c.r, one, []spec{s})
	if diags.HasErrors() {
		return providers.ConvergeResponse{Failed: &l.Addr, Diagnostics: diags}, true
	}
	f := results[0].facts
	pkgs := upgradeOf(l, s)
	st := upgradeStatus(pkgs, f, s.status(f))
	switch {
	case st.satisfied && !l.Reapply:
		c.output(l.Addr, "already in place, nothing to do")
		c.locked(l, s, f)
		return providers.ConvergeResponse{}, false
	case st.satisfied:
		c.output(l.Addr, "its settings changed since it was applied: running it again")
	default:
		c.output(l.Addr, "to do: "+strings.Join(st.reasons, "; "))
	}
	c.nonce, c.sums = c.e.nonce(), map[string]string{}
	w := script{waitCloudInit: !c.aptReady, lock: l.Lock, nonce: c.nonce}
	s.apply(&w, f)
	upgradeInstall(&w, pkgs, f)
	if resp, failed := c.runScript(ctx, l.Addr, l.Kind, &w); failed {
		return resp, true
	}
	if w.needsApt {
		c.aptReady = true
	}
	if d, ok := s.(*dockerSpec); ok && d.addsUsers(f) {
		c.output(l.Addr, "reconnecting so that later layers see the docker group")
		if err := c.r.Reconnect(ctx); err != nil {
			return c.fail(l.Addr, "Cannot reconnect after layer "+l.Addr.String(),
				"The docker layer added users to the docker group, and a new login is needed for later layers to see it, but reconnecting failed: "+err.Error()), true
		}
	}
	results, diags = c.e.probe(ctx, c.r, one, []spec{s})
	if diags.HasErrors() {
		return providers.ConvergeResponse{Failed: &l.Addr, Diagnostics: diags}, true
	}
	if st := s.status(results[0].facts); !st.satisfied {
		return c.fail(l.Addr, "Layer "+l.Addr.String()+" is not in place after it ran",
			"Its script succeeded, but probing the host again finds: "+strings.Join(st.reasons, "; ")+"."), true
	}
	c.locked(l, s, results[0].facts)
	return providers.ConvergeResponse{}, false
}

// locked reports a layer's facts for the lock file, from the probe that
// found it in place and the checksums its script printed.
func (c *converge) locked(l providers.Layer, s spec, f facts) {
	if lk, ok := s.(locker); ok && c.req.Locked != nil {
		c.req.Locked(l.Addr, lk.lockFacts(f, c.sums))
	}
	c.sums = nil
}

// runScript runs one converge script for a layer, streaming its output.
func (c *converge) runScript(ctx context.Context, addr addrs.Layer, kindName string, w *script) (providers.ConvergeResponse, bool) {
	var tail []string
	user := c.r.User()
	code, err := c.r.Run(ctx, convergeScript(user, w.String()), func(_ Stream, line string) {
		if url, sum, ok := parseSum(c.nonce, line); ok {
			if c.sums != nil {
				c.sums[url] = sum
			}
			return
		}
		tail = append(tail, line)
		if len(tail) > tailLines {
			tail = tail[1:]
		}
		c.output(addr, line)
	})
	if err != nil {
		return c.fail(addr, "Lost the connection during layer "+addr.String(), err.Error()), true
	}
	if code == 0 {
		return providers.ConvergeResponse{}, false
	}
	if code == exitNoSudo && user != "root" && len(tail) > 0 && strings.HasPrefix(tail[len(tail)-1], noSudoMessage) {
		return c.fail(addr, "Passwordless sudo is required for user "+user,
			fmt.Sprintf("The %s layer runs commands as root with `sudo -n`, which failed for user %s. "+
				"Allow it, for example with the line `%s ALL=(ALL) NOPASSWD:ALL` in /etc/sudoers.d/%s, or connect as root.",
				kindName, user, user, user)), true
	}
	detail := fmt.Sprintf("The %s layer's script exited with status %d.", kindName, code)
	if len(tail) > 0 {
		detail += " Its last output lines:\n" + strings.Join(tail, "\n")
	}
	return c.fail(addr, "Layer "+addr.String()+" failed", detail), true
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// NewSession returns the layer logic of one host as a providers.HostSession
// for host.Options.NewSession: Probe and Converge run a zero Engine over r.
// Its HostKey is "" and its Close does nothing; the transport wraps it and
// supplies both (the verified key, closing the connection).
func NewSession(r Runner) providers.HostSession {
	return &session{r: r}
}

type session struct {
	e Engine
	r Runner
}

func (s *session) HostKey() string { return "" }
func (s *session) Close() error    { return nil }

func (s *session) Probe(ctx context.Context, req providers.ProbeRequest) providers.ProbeResponse {
	return s.e.Probe(ctx, s.r, req)
}

func (s *session) Converge(ctx context.Context, req providers.ConvergeRequest) providers.ConvergeResponse {
	return s.e.Converge(ctx, s.r, req)
}

// defaultProbeTimeout bounds the probe script of one host beyond the time
// its shell checks may take: the built-in probes read a few files and run
// a few version commands.
const defaultProbeTimeout = 2 * time.Minute

// probeBudget is how long the probe script of specs may run.
func probeBudget(specs []spec) time.Duration {
	d := defaultProbeTimeout
	for _, s := range specs {
		if sh, ok := s.(*shellSpec); ok {
			d += sh.timeout + 5*time.Second
		}
	}
	return d
}
