package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/aws"
	"github.com/mlops-dev/mlops/providers/builtin"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/zclconf/go-cty/cty"
)

// timedRunner wraps the transport's layers.Runner and times each Capture:
// one Capture is one remote round trip (open a channel, run `bash -s`,
// collect the output).
type timedRunner struct {
	layers.Runner

	mu       sync.Mutex
	captures []time.Duration
	script   string // the last script captured
}

func (r *timedRunner) Capture(ctx context.Context, script string) ([]byte, []byte, int, error) {
	start := time.Now()
	stdout, stderr, code, err := r.Runner.Capture(ctx, script)
	r.mu.Lock()
	r.captures = append(r.captures, time.Since(start))
	r.script = script
	r.mu.Unlock()
	return stdout, stderr, code, err
}

func (r *timedRunner) last() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.captures) == 0 {
		return 0
	}
	return r.captures[len(r.captures)-1]
}

// probeBreakdown splits one host's no-op plan into its remote parts, using
// mlops' own packages the way the plan engine does (config.EvalLayers, the
// SSH transport of providers/host, the probe of providers/host/layers):
// the SSH login, a round trip of an empty script, the probe of all layers,
// and the probe of each layer alone.
//
// It also returns the median CPU time of the probe script of all layers on
// the host.
func probeBreakdown(w *world, o options, s *stack, h *testworld.Host) (table, time.Duration, error) {
	t := table{
		title: "Where the time of a no-op plan goes, one host",
		intro: fmt.Sprintf("Measured on host 0 through mlops' own packages, as the plan engine calls them (config.EvalLayers, "+
			"providers/host Hosts.Open, layers probe via a Runner that times each Capture), for resource host.h0 of %s. "+
			"The probe scripts are then run again on the same connection inside bash's `time` keyword: the time the script itself "+
			"takes on the host, without SSH.", s.name),
		header: []string{"part", "wall time", "CPU on the host (user+sys)"},
	}
	schemas := providers.Registry{"aws": aws.New(aws.Options{}), "host": builtin.New()}.Schemas(layers.Schemas())
	cfg, diags := config.Load(s.dir, config.LoadOptions{Schemas: schemas, Env: s.env(w.moto.Endpoint())})
	if diags.HasErrors() {
		return t, 0, fmt.Errorf("loading %s: %v", s.dir, diags)
	}
	addr := addrs.Resource{Mode: addrs.Managed, Type: "host", Name: "h0"}
	sshSet, diags := cfg.EvalSSH(addr, nil, cty.NilVal)
	if diags.HasErrors() {
		return t, 0, fmt.Errorf("evaluating the ssh block of %s: %v", addr, diags)
	}
	lvs, diags := cfg.EvalLayers(addr, nil, cty.NilVal)
	if diags.HasErrors() {
		return t, 0, fmt.Errorf("evaluating the layers of %s: %v", addr, diags)
	}
	var ls []providers.Layer
	for _, lv := range lvs {
		ls = append(ls, providers.Layer{Addr: lv.Addr, Kind: lv.Kind, Config: lv.Config, Digest: providers.LayerDigest(lv.Kind, lv.Config)})
	}
	target := providers.SSHTarget{Host: sshSet.Host, Port: sshSet.Port, User: sshSet.User, PrivateKeyFile: sshSet.PrivateKey, Timeout: 30 * time.Second}

	var runner *timedRunner
	hosts := host.New(host.Options{
		LoopbackOnly: true,
		NewSession: func(r layers.Runner) providers.HostSession {
			runner = &timedRunner{Runner: r}
			return layers.NewSession(runner)
		},
		LayerSchemas: layers.Schemas,
	})
	ctx := context.Background()
	var login, first, empty, again []time.Duration
	var script, scriptCPU []time.Duration
	perLayer := make([][]time.Duration, len(ls))
	perLayerCPU := make([][]time.Duration, len(ls))
	fail := func(sess providers.HostSession, err error) (table, time.Duration, error) {
		sess.Close()
		return t, 0, err
	}
	for i := range o.warmup + o.runs {
		start := time.Now()
		sess, diags := hosts.Open(ctx, target, h.HostKey)
		if diags.HasErrors() {
			return t, 0, fmt.Errorf("ssh %s: %v", h.HostPort(), diags)
		}
		dLogin := time.Since(start)
		probe := func(ls []providers.Layer) error {
			resp := sess.Probe(ctx, providers.ProbeRequest{Layers: ls})
			if resp.Diagnostics.HasErrors() {
				return fmt.Errorf("probe: %v", resp.Diagnostics)
			}
			for _, st := range resp.Statuses {
				if !st.Satisfied {
					return fmt.Errorf("%s is not satisfied: %v", st.Addr, st.Reasons)
				}
			}
			return nil
		}
		// As the plan does: the probe of all layers on the new connection.
		if err := probe(ls); err != nil {
			return fail(sess, err)
		}
		dFirst := runner.last()
		if _, _, _, err := runner.Capture(ctx, ""); err != nil {
			return fail(sess, err)
		}
		dEmpty := runner.last()
		if err := probe(ls); err != nil {
			return fail(sess, err)
		}
		dAgain := runner.last()
		real, cpu, err := runner.timeLast(ctx)
		if err != nil {
			return fail(sess, err)
		}
		var lReal, lCPU []time.Duration
		for _, l := range ls {
			if err := probe([]providers.Layer{l}); err != nil {
				return fail(sess, err)
			}
			r, c, err := runner.timeLast(ctx)
			if err != nil {
				return fail(sess, err)
			}
			lReal, lCPU = append(lReal, r), append(lCPU, c)
		}
		sess.Close()
		if i < o.warmup {
			continue
		}
		login, first, empty, again = append(login, dLogin), append(first, dFirst), append(empty, dEmpty), append(again, dAgain)
		script, scriptCPU = append(script, real), append(scriptCPU, cpu)
		for j := range ls {
			perLayer[j] = append(perLayer[j], lReal[j])
			perLayerCPU[j] = append(perLayerCPU[j], lCPU[j])
		}
	}
	t.rows = append(t.rows,
		[]string{"SSH login: dial, handshake, public key auth (host.Hosts.Open)", durations(login).ms(), ""},
		[]string{fmt.Sprintf("probe round trip, all %d layers, first channel of the connection (what plan does)", len(ls)), durations(first).ms(), ""},
		[]string{"empty round trip, a later channel (Capture of an empty script)", durations(empty).ms(), ""},
		[]string{fmt.Sprintf("probe round trip, all %d layers, a later channel", len(ls)), durations(again).ms(), ""},
		[]string{fmt.Sprintf("probe script alone on the host, all %d layers (bash `time`)", len(ls)), durations(script).ms(), durations(scriptCPU).ms()},
	)
	for j, l := range ls {
		t.rows = append(t.rows, []string{fmt.Sprintf("&nbsp;&nbsp;probe script of layer %s (%s) alone", l.Addr.Name, l.Kind),
			durations(perLayer[j]).ms(), durations(perLayerCPU[j]).ms()})
	}
	return t, time.Duration(durations(scriptCPU).med * float64(time.Millisecond)), nil
}

// timeLast runs the last captured script again inside bash's `time`
// keyword and returns its real and CPU (user+sys, children included) time
// on the host.
func (r *timedRunner) timeLast(ctx context.Context) (real, cpu time.Duration, err error) {
	r.mu.Lock()
	script := r.script
	r.mu.Unlock()
	wrapped := "TIMEFORMAT='@@mlops-bench-time %3R %3U %3S'\ntime {\n" + script + "\n} 2>/dev/null\n"
	_, stderr, _, err := r.Runner.Capture(ctx, wrapped)
	if err != nil {
		return 0, 0, err
	}
	i := strings.LastIndex(string(stderr), "@@mlops-bench-time ")
	if i < 0 {
		return 0, 0, fmt.Errorf("no timing in the output of the timed probe: %q", stderr)
	}
	var re, us, sy float64
	if _, err := fmt.Sscanf(string(stderr[i:]), "@@mlops-bench-time %f %f %f", &re, &us, &sy); err != nil {
		return 0, 0, fmt.Errorf("parsing %q: %v", stderr[i:], err)
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return sec(re), sec(us + sy), nil
}
