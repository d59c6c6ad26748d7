package plan

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
	"github.com/zclconf/go-cty/cty"
)

// statusSSHTimeout bounds how long mlops status waits for a machine's SSH.
const statusSSHTimeout = 15 * time.Second

// MachineStatus is one machine of the stack as mlops status shows it: its
// value as the cloud reports it now and, when it runs, what the probes of
// its layers found, read in one SSH round trip.
type MachineStatus struct {
	Addr addrs.Resource
	// Value is the refreshed value (null when the machine is gone).
	Value cty.Value
	// SSH is how to reach it (SSH.Known false when it cannot be evaluated).
	SSH config.SSHSettings
	// Stopped is true for a stopped machine; it is not contacted.
	Stopped bool
	// Layers are the probe results of its layers, in configuration order
	// (empty when it was not contacted).
	Layers []providers.LayerStatus
	// Diagnostics say why it could not be probed.
	Diagnostics hcl.Diagnostics
}

// Status reads every machine (resource with an ssh block in its schema) that
// st records: one batched refresh of those resources only (for EC2: one
// DescribeInstances for the whole stack), then, for each running machine with
// layers, one SSH connection running all its layers' probes in one round
// trip, the machines in parallel. It changes nothing, not even the state.
func (e *Engine) Status(ctx context.Context, st *state.State) ([]MachineStatus, hcl.Diagnostics) {
	machines := state.New(st.Lineage)
	for _, r := range st.Resources {
		addr, err := stateAddr(r)
		if err != nil || addr.Mode != addrs.Managed {
			continue
		}
		if rs, err := resourceSchema(e.Schemas, addr); err == nil && rs.SSH {
			machines.Resources = append(machines.Resources, r)
		}
	}
	ref, diags := e.Refresh(ctx, machines, RefreshOptions{Destroy: true})
	if diags.HasErrors() {
		return nil, diags
	}
	vals := statusValues(e, st, ref)
	var out []MachineStatus
	for _, r := range machines.Resources {
		addr, _ := stateAddr(r)
		rs, _ := resourceSchema(e.Schemas, addr)
		m := MachineStatus{Addr: addr, Value: cty.NullVal(rs.ImpliedType())}
		if v, ok := ref.Values[addr]; ok && !ref.Gone[addr] {
			m.Value = v
		}
		m.Stopped = e.isStopped(addr, m.Value)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.String() < out[j].Addr.String() })

	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallelism())
	for i := range out {
		m := &out[i]
		cr := e.Config.Resources[m.Addr]
		if cr == nil || cr.SSH == nil || m.Value.IsNull() {
			continue
		}
		ssh, layers, d := e.evalHost(m.Addr, vals, m.Value)
		m.SSH = ssh
		if m.Stopped {
			continue
		}
		if d.HasErrors() || !ssh.Known || ssh.Host == "" || len(layers) == 0 || e.Hosts == nil {
			m.Diagnostics = d
			continue
		}
		knownKey := ""
		if sr := st.Resource(m.Addr.String()); sr != nil {
			knownKey = sr.HostKey
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			e.probeMachine(ctx, m, layers, knownKey)
		}()
	}
	wg.Wait()
	return out, diags
}

// statusValues are the values the ssh blocks are evaluated with: they may
// refer to other resources (the key pair's file), so the recorded values,
// with the machines as the cloud reports them.
func statusValues(e *Engine, st *state.State, ref *Refreshed) config.Values {
	vals := config.Values{}
	for _, r := range st.Resources {
		addr, err := stateAddr(r)
		if err != nil {
			continue
		}
		if rs, err := resourceSchema(e.Schemas, addr); err == nil {
			if v, err := decodeState(r, rs); err == nil && !v.IsNull() {
				vals[addr] = v
			}
		}
	}
	for addr, v := range ref.Values {
		vals[addr] = v
	}
	return vals
}

// probeMachine runs the probes of a running machine's layers over one SSH
// connection and puts what they found (or why they could not run) in m.
func (e *Engine) probeMachine(ctx context.Context, m *MachineStatus, layers []providers.Layer, knownKey string) {
	// A running machine that does not answer is reported, not waited
	// for as long as apply waits for a booting one.
	target := sshTarget(m.SSH)
	if target.Timeout <= 0 || target.Timeout > statusSSHTimeout {
		target.Timeout = statusSSHTimeout
	}
	sess, d := e.Hosts.Open(ctx, target, knownKey)
	if d.HasErrors() {
		m.Diagnostics = prefixDiags(d, m.Addr.String())
		return
	}
	defer sess.Close()
	resp := sess.Probe(ctx, providers.ProbeRequest{Layers: layers})
	m.Layers, m.Diagnostics = resp.Statuses, prefixDiags(resp.Diagnostics, m.Addr.String())
}
