package plan

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/state"
)

// HostSSH is how to reach one recorded host: its ssh block evaluated with
// the recorded values.
type HostSSH struct {
	Addr addrs.Resource
	// SSH is the evaluated ssh block. SSH.Known is false when some setting
	// could not be evaluated from the recorded values.
	SSH config.SSHSettings
	// HostKey is the host key to expect: the ssh block's host_key, else
	// the key pinned in state at first contact; "" when there is neither.
	HostKey string
	// Stopped is true for a stopped instance (running = false): it has no
	// current address.
	Stopped bool
}

// SSHHosts evaluates the ssh block of every managed resource that st
// records and the configuration gives an ssh block, with the values st
// records (after an apply: the final state, so addresses are current).
// Hosts come sorted by address. It makes no network call.
func (e *Engine) SSHHosts(st *state.State) ([]HostSSH, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vals := config.Values{}
	for _, r := range st.Resources {
		addr, err := stateAddr(r)
		if err != nil {
			continue
		}
		rs, err := resourceSchema(e.Schemas, addr)
		if err != nil {
			continue
		}
		if v, err := decodeState(r, rs); err == nil && !v.IsNull() {
			vals[addr] = v
		}
	}
	var out []HostSSH
	for _, r := range st.Resources {
		addr, err := stateAddr(r)
		if err != nil || addr.Mode != addrs.Managed {
			continue
		}
		cr := e.Config.Resources[addr.NoKey()]
		self, ok := vals[addr]
		if cr == nil || cr.SSH == nil || !ok {
			continue
		}
		set, d := e.Config.EvalSSH(addr, vals, self)
		h := HostSSH{Addr: addr, SSH: set, HostKey: r.HostKey, Stopped: e.isStopped(addr, self)}
		if !h.Stopped {
			// A stopped instance has no address, and an ssh block built
			// from it ("${self.public_ip}") may fail: that is no error.
			diags = append(diags, d...)
		}
		if set.HostKey != "" {
			h.HostKey = set.HostKey
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.String() < out[j].Addr.String() })
	return out, diags
}
