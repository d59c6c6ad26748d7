package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// SSHTarget is an evaluated ssh block: how to reach a host.
type SSHTarget struct {
	Host           string
	Port           int
	User           string
	PrivateKeyFile string // path, already expanded (~ resolved)
	// HostKey pins the host key up front ("ssh-ed25519 AAAA..."); empty: pin at first contact.
	HostKey string
	// Timeout bounds how long to wait for the host to accept SSH (default
	// 5 minutes) while it boots.
	Timeout time.Duration
	// Booting says the machine was created or started in this run, so a
	// refused connection may only mean it is still booting: the wait lasts
	// up to Timeout. Otherwise (an existing host, an instance that was
	// already running) a few seconds of retries, then a clear error.
	Booting bool
	// Progress, when set, receives the messages of a wait ("waiting for
	// SSH on ..."), so that they go through the caller's view.
	Progress func(msg string)
	// Alias is the ~/.ssh/config Host alias mlops keeps for this host ("" = none).
	Alias string
	// SeenHostKey is the key seen at the first contact earlier in this run
	// (the plan phase of an apply) or recorded in the saved plan being
	// applied; it is demanded when neither HostKey nor the state pins one.
	SeenHostKey string
	// KnownHosts: consult the user's known_hosts file before trusting a
	// key at first contact (for existing machines, the `host` resource).
	KnownHosts bool
	// StrictHostKey refuses to connect when no key is pinned anywhere.
	StrictHostKey bool
	// AuthorizedKeys are the public keys the configuration lets in (the ssh
	// block's authorized_keys). When PrivateKeyFile does not exist here, a
	// key of the user's own (~/.ssh/id_ed25519, id_ecdsa, id_rsa) whose
	// public key is among them is used instead.
	AuthorizedKeys []string
}

// Layer is one evaluated layer block of a host.
type Layer struct {
	Addr addrs.Layer
	Kind string
	// Config conforms to the layer kind's schema and is wholly known.
	Config cty.Value
	// Digest identifies the layer's inputs; the state records it when applied.
	Digest string
	// Reapply runs the layer's action even when its probe finds the host
	// satisfied: its settings changed since it was applied (a shell layer's
	// run command, say) in a way the probe cannot see.
	Reapply bool
	// Lock is what the lock file pins for this layer's installs.
	Lock LayerLock
}

// LayerRecord is what the state remembers of an applied layer.
type LayerRecord struct {
	Addr   addrs.Layer
	Kind   string
	Digest string
	Config cty.Value // the config it was applied with (may be null for old states)
}

// LayerStatus is what a probe found for one layer.
type LayerStatus struct {
	Addr addrs.Layer
	// Satisfied: the host already matches the layer; nothing to do.
	Satisfied bool
	// Present: some of it is there (so a change is "~" rather than "+").
	Present bool
	// Reasons say what differs, for the plan: "docker_compose version 1.29.2 -> v2.5.0",
	// "user ubuntu not in group docker".
	Reasons []string
	// Lock is what a satisfied layer has for the lock file (the versions
	// of its packages on the host).
	Lock LockFacts
	// Info is what the layer observed on the host, for mlops status (the
	// idle-stop agent's last decision); "" for most kinds.
	Info string
	// Upgrade is what a probe with Layer.Lock.Upgrade found; nil otherwise.
	Upgrade *UpgradeFacts
}

// HostSession is a connection to one host: probes and actions over one SSH
// connection. Close releases it.
type HostSession interface {
	// HostKey is the host's public key in authorized_keys format, as verified.
	HostKey() string
	// Probe checks all layers in one remote round trip.
	Probe(ctx context.Context, req ProbeRequest) ProbeResponse
	// Converge applies the given layers in order, stopping at the first failure.
	Converge(ctx context.Context, req ConvergeRequest) ConvergeResponse
	Close() error
}

// ScriptRunner is implemented by host sessions that can run a provider's
// HostScript (see ApplyChangeResponse): the script goes to `bash -s` as the
// SSH user; output gets its lines; the result is the script's exit status.
type ScriptRunner interface {
	RunScript(ctx context.Context, script string, output func(line string)) (exitCode int, err error)
}

// Hosts opens sessions to hosts and knows the layer kinds.
type Hosts interface {
	LayerSchemas() map[string]*schema.Layer
	// Open connects to the target, waiting for it up to target.Timeout.
	// knownHostKey is the key pinned in state ("" at first contact). A key that
	// differs from target.HostKey or knownHostKey is a fatal error.
	Open(ctx context.Context, target SSHTarget, knownHostKey string) (HostSession, hcl.Diagnostics)
}

// ProbeRequest lists the layers to check and the removed layers to report on.
type ProbeRequest struct {
	Layers []Layer
}

// ProbeResponse has one status per requested layer, in order.
type ProbeResponse struct {
	Statuses    []LayerStatus
	Diagnostics hcl.Diagnostics
}

// ConvergeRequest applies Layers (in order) and undoes Remove.
type ConvergeRequest struct {
	Layers []Layer
	Remove []LayerRecord
	// Output receives remote output lines as they arrive.
	Output func(layer addrs.Layer, line string)
	// Done is called after each layer succeeded.
	Done func(layer addrs.Layer)
	// Removed is called after each removed layer was undone (or left in place).
	Removed func(layer addrs.Layer)
	// Locked receives, before Done, what a layer that ran or was found in
	// place reports for the lock file; it may be nil.
	Locked func(layer addrs.Layer, facts LockFacts)
}

// ConvergeResponse reports the first failure, if any. Layers after a failed
// one are not run.
type ConvergeResponse struct {
	Failed      *addrs.Layer
	Diagnostics hcl.Diagnostics
}

// LayerDigest identifies a layer's inputs: its kind and its configuration.
// The state records it when the layer is applied, so a later plan can tell
// an edited layer from an unchanged one.
func LayerDigest(kind string, cfg cty.Value) string {
	cfg = withoutTimeout(cfg)
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	if cfg != cty.NilVal && cfg.IsWhollyKnown() {
		if b, err := ctyjson.Marshal(cfg, cfg.Type()); err == nil {
			h.Write(b)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// withoutTimeout drops a "timeout" attribute from a layer config: how long
// a check may take does not change what the layer makes of the host, so
// setting it re-runs nothing (and configurations applied before the
// attribute existed keep their digests).
func withoutTimeout(cfg cty.Value) cty.Value {
	if cfg == cty.NilVal || cfg.IsNull() || !cfg.IsKnown() || !cfg.Type().IsObjectType() || !cfg.Type().HasAttribute("timeout") {
		return cfg
	}
	attrs := map[string]cty.Value{}
	for name := range cfg.Type().AttributeTypes() {
		if name != "timeout" {
			attrs[name] = cfg.GetAttr(name)
		}
	}
	return cty.ObjectVal(attrs)
}
