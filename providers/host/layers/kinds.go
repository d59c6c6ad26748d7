package layers

import (
	"fmt"
	"strings"
	"sync"

	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// kind is one layer kind: its schema and how to read a config into a spec.
type kind struct {
	schema *schema.Layer
	// decode reads a config conforming to the schema (or an older state's
	// config, missing attributes take their defaults).
	decode func(cfg cty.Value) (spec, error)
}

// spec is a decoded layer: everything the engine asks of a layer kind.
type spec interface {
	// probe writes bash that reports facts with `__mlops_fact KEY VALUE`.
	// It runs in a subshell with stdin from /dev/null, as the SSH user,
	// without sudo, and must not change the host. Everything it prints
	// other than facts is ignored, but it should print nothing else.
	probe(w *script)
	// status judges the facts a probe reported.
	status(f facts) status
	// apply writes the bash that brings the host from what the facts
	// describe to the layer's desired state. It runs under set -euo pipefail.
	// It is only called when status(f) is not satisfied.
	apply(w *script, f facts)
	// remove writes the bash that undoes the layer when it is deleted from
	// the configuration, or returns a note saying why it is left in place.
	// others are the layers that remain configured on the host.
	remove(w *script, others []spec) (leftInPlace string)
}

// status is the judgement of one layer's facts.
type status struct {
	satisfied bool
	present   bool
	reasons   []string
}

// facts are what a layer's probe reported, key -> value.
type facts map[string]string

// flag reports whether a fact is "1" (the probes' way of saying yes).
func (f facts) flag(key string) bool { return f[key] == "1" }

// script accumulates a bash script, one line at a time.
type script struct {
	b strings.Builder
	// needsApt is set when the script uses apt-get: the engine then waits
	// for cloud-init first (once per converge).
	needsApt bool
	// waitCloudInit is set by the engine when this script is the first apt
	// user of a converge.
	waitCloudInit bool
	// lock is what the lock file pins for the layer (see lock.go).
	lock providers.LayerLock
	// nonce marks the records the script prints for the engine.
	nonce string
}

func (w *script) line(parts ...string) {
	for _, p := range parts {
		w.b.WriteString(p)
	}
	w.b.WriteByte('\n')
}

// echo writes a line that prints msg (quoted) to stdout.
func (w *script) echo(msg string) { w.line("echo ", quote(msg)) }

// fact writes a line that reports a fact whose value is the bash expression expr.
func (w *script) fact(key, expr string) { w.line("__mlops_fact ", key, " ", expr) }

// flag writes a line that reports a fact that is "1" when the bash command
// cond succeeds, else "". cond runs in the probe's shell, not in a command
// substitution, so a test builtin costs no process; it must print nothing.
func (w *script) flag(key, cond string) {
	w.line("if ", cond, "; then __mlops_fact ", key, " 1; else __mlops_fact ", key, " ''; fi")
}

// aptGet writes the apt-get command with args (already quoted), preceded
// the first time by the preparation apt needs on a fresh machine.
func (w *script) aptGet(args ...string) {
	w.aptPrepare()
	w.line("__mlops_apt_get ", strings.Join(args, " "))
}

// aptPrepare writes, the first time, the preparation apt needs on a fresh
// machine.
func (w *script) aptPrepare() {
	if !w.needsApt {
		w.needsApt = true
		if w.waitCloudInit {
			w.line("__mlops_wait_cloud_init")
		}
		w.line("__mlops_apt_lists")
	}
}

func (w *script) String() string { return w.b.String() }

// kinds returns every layer kind by name, built anew.
func kinds() map[string]kind {
	return withAuthorizedKeys(map[string]kind{
		"apt":            aptKind(),
		"anaconda":       anacondaKind(),
		"docker":         dockerKind(),
		"docker_compose": composeKind(),
		"file":           fileKind(),
		"shell":          shellKind(),
		"idle_stop":      idleStopKind(),
	})
}

// sharedKinds are the kinds decode uses, built on first use and never
// changed: decoding a layer (per layer, per probe, per host) built all six
// kinds' schemas each time.
var sharedKinds = sync.OnceValue(kinds)

// sharedInternalKinds are the host step kinds (internalKinds), built once.
var sharedInternalKinds = sync.OnceValue(internalKinds)

// Schemas returns the schema of every layer kind, by kind name. The map is
// new on every call; callers may keep it.
func Schemas() map[string]*schema.Layer {
	out := map[string]*schema.Layer{}
	for name, k := range kinds() {
		out[name] = k.schema
	}
	return out
}

// validateConfig runs the schema's Validate funcs over a config. The config
// loader does this already; the engine does it again before it puts values
// into a script, so a value that reached it by another way (an old state, a
// bug) is still refused.
func validateConfig(ls *schema.Layer, cfg cty.Value) error {
	if cfg.IsNull() || !cfg.IsKnown() || !cfg.Type().IsObjectType() {
		return fmt.Errorf("the layer's configuration is null or unknown")
	}
	for _, name := range ls.AttributeNames() {
		a := ls.Attributes[name]
		if !cfg.Type().HasAttribute(name) {
			continue
		}
		v := cfg.GetAttr(name)
		if !v.IsWhollyKnown() {
			return fmt.Errorf("%s is not known", name)
		}
		if v.IsNull() {
			if a.Required {
				return fmt.Errorf("%s is required", name)
			}
			continue
		}
		if a.Validate != nil {
			if err := a.Validate(v); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
		}
	}
	return nil
}

// attrs reads attributes from a layer config, falling back to the schema
// defaults for missing or null ones.
type attrs struct {
	cfg cty.Value
	ls  *schema.Layer
	err error
}

func (a *attrs) value(name string) cty.Value {
	var v cty.Value
	if !a.cfg.IsNull() && a.cfg.IsKnown() && a.cfg.Type().IsObjectType() && a.cfg.Type().HasAttribute(name) {
		v = a.cfg.GetAttr(name)
	}
	if v == cty.NilVal || v.IsNull() {
		if at := a.ls.Attributes[name]; at != nil && at.Default != cty.NilVal {
			return at.Default
		}
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if !v.IsWhollyKnown() {
		a.fail("%s is not known", name)
		return cty.NullVal(v.Type())
	}
	return v
}

func (a *attrs) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, args...)
	}
}

func (a *attrs) str(name string) string {
	v := a.value(name)
	if v.IsNull() {
		if at := a.ls.Attributes[name]; at != nil && at.Required {
			a.fail("%s is required", name)
		}
		return ""
	}
	if v.Type() != cty.String {
		a.fail("%s must be a string", name)
		return ""
	}
	return v.AsString()
}

func (a *attrs) boolean(name string) bool {
	v := a.value(name)
	if v.IsNull() {
		return false
	}
	if v.Type() != cty.Bool {
		a.fail("%s must be a bool", name)
		return false
	}
	return v.True()
}

func (a *attrs) strings(name string) []string {
	v := a.value(name)
	if v.IsNull() {
		return nil
	}
	if !v.CanIterateElements() {
		a.fail("%s must be a list of strings", name)
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			a.fail("%s must be a list of strings", name)
			return nil
		}
		out = append(out, e.AsString())
	}
	return out
}
