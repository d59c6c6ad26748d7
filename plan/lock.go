package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// LockChange is one entry of the lock file that the plan adds or changes,
// with the reason. Kind is "data", "download" or "layer"; Key is the data
// source address, the URL or the layer address.
type LockChange struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Action Action `json:"action"` // Create or Update
	// Before and After describe the entry, such as
	// "ami-0abc (ubuntu-jammy-22.04-20261001) of 2026-10-01T00:00:00.000Z".
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Packages are, for a layer that -upgrade re-resolved on its host,
	// the locked package versions that move (see upgrade.go); Unchanged
	// counts those that stay. An entry where nothing moves is a NoOp.
	Packages  []PackageMove `json:"packages,omitempty"`
	Unchanged int           `json:"unchanged,omitempty"`
}

// lockedData decides which value a data source has in this run, given the
// value just read (fresh): the locked one when the lock has an entry that
// fits the configuration, else the fresh one. Without -upgrade a locked
// entry that differs from the fresh read is kept and only noted; an entry
// that no longer fits (its arguments or region changed) is re-resolved.
// change is nil when the lock stays as it is.
//
// recorded is the value the state holds from the last apply (null when
// none). A stack applied before it had a lock file takes it as its lock
// entry, so that its machines are not replaced by the first plan that
// knows about locking.
func (e *Engine) lockedData(addr addrs.Resource, rs *schema.Resource, fresh, recorded cty.Value) (use cty.Value, change *LockChange, note string) {
	var entry *lockfile.DataSource
	if e.Lock != nil {
		entry = e.Lock.Data[addr.String()]
	}
	if entry == nil {
		if recorded != cty.NilVal && !recorded.IsNull() && recorded.IsWhollyKnown() && !e.Upgrade && misfit(rs, recorded, fresh) == "" {
			_, _, note = e.lockedDataFrom(addr, recorded, fresh)
			return recorded, &LockChange{Kind: "data", Key: addr.String(), Action: Create, After: describeData(recorded),
				Reason: "as the last apply recorded it in the state"}, note
		}
		return fresh, &LockChange{Kind: "data", Key: addr.String(), Action: Create, After: describeData(fresh),
			Reason: "not locked yet"}, ""
	}
	locked, err := entry.Value(rs)
	if err != nil {
		return fresh, &LockChange{Kind: "data", Key: addr.String(), Action: Update, After: describeData(fresh),
			Reason: "the lock entry cannot be read: " + err.Error()}, ""
	}
	same := attrString(locked, "id") == attrString(fresh, "id")
	if e.Upgrade {
		if same {
			return fresh, nil, ""
		}
		return fresh, &LockChange{Kind: "data", Key: addr.String(), Action: Update, Before: describeData(locked),
			After: describeData(fresh), Reason: "-upgrade"}, ""
	}
	if why := misfit(rs, locked, fresh); why != "" {
		return fresh, &LockChange{Kind: "data", Key: addr.String(), Action: Update, Before: describeData(locked),
			After: describeData(fresh), Reason: "the lock entry no longer fits the configuration: " + why}, ""
	}
	return e.lockedDataFrom(addr, locked, fresh)
}

// lockedDataFrom keeps locked, an entry that fits, with a note when a
// fresh lookup finds something else.
func (e *Engine) lockedDataFrom(addr addrs.Resource, locked, fresh cty.Value) (use cty.Value, change *LockChange, note string) {
	if attrString(locked, "id") == attrString(fresh, "id") {
		// The same result; the fresh read may know more of it (an entry
		// of an older mlops, without owner_id or region).
		return fresh, nil, ""
	}
	note = fmt.Sprintf("%s: newer %s available: %s; the lock file keeps %s; mlops plan -upgrade shows the change",
		addr, dataNoun(addr), describeData(fresh), attrString(locked, "id"))
	if !newer(fresh, locked) {
		note = fmt.Sprintf("%s: a fresh lookup finds %s; the lock file keeps %s; mlops plan -upgrade shows the change",
			addr, describeData(fresh), describeData(locked))
	}
	return locked, nil, note
}

// misfit says which argument of a data source differs between its lock
// entry and the configuration ("" when the entry fits). The fresh read
// echoes the configured arguments; the region it was read in counts too,
// since an image ID is valid in one region only.
func misfit(rs *schema.Resource, locked, fresh cty.Value) string {
	var names []string
	for n, a := range rs.Block.Attributes {
		if !a.Computed || n == "region" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var changed []string
	for _, n := range names {
		lv, fv := locked.GetAttr(n), fresh.GetAttr(n)
		if fv.IsNull() && !rs.Block.Attributes[n].Computed {
			continue // an argument left out: its default is what counts
		}
		if lv.IsNull() && rs.Block.Attributes[n].Computed {
			continue // recorded by an older mlops, which did not know it
		}
		if lv.IsNull() != fv.IsNull() || !lv.IsNull() && !lv.Equals(fv).True() {
			changed = append(changed, n+" changed")
		}
	}
	return strings.Join(changed, ", ")
}

// newer reports whether a's creation_date is later than b's (RFC 3339
// strings of one format compare as text).
func newer(a, b cty.Value) bool {
	return attrString(a, "creation_date") > attrString(b, "creation_date")
}

func dataNoun(addr addrs.Resource) string {
	if addr.Type == "aws_ami" {
		return "image"
	}
	return "result"
}

// describeData renders a data source value for people: its id, name and
// creation date when it has them.
func describeData(v cty.Value) string {
	s := attrString(v, "id")
	if n := attrString(v, "image_name"); n != "" {
		s += " (" + n + ")"
	}
	if d := attrString(v, "creation_date"); d != "" {
		s += " of " + d
	}
	return s
}

func attrString(v cty.Value, name string) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// layerLock is what the lock pins for one layer's installs: nothing with
// -upgrade, which re-resolves.
func (e *Engine) layerLock(addr addrs.Layer) providers.LayerLock {
	ll := providers.LayerLock{Upgrade: e.Upgrade}
	if e.Lock == nil || e.Upgrade {
		return ll
	}
	if lp := e.Lock.Layers[lockKey(addr)]; lp != nil {
		ll.Packages = lp.Packages
	}
	if len(e.Lock.Downloads) > 0 {
		ll.Downloads = map[string]string{}
		for url, d := range e.Lock.Downloads {
			ll.Downloads[url] = d.SHA256
		}
	}
	return ll
}

// upgradeLockChanges lists what -upgrade moves in the lock besides data
// sources, once the hosts are probed. A layer whose host was probed shows
// each locked package whose candidate differs (packageMoves); apply
// -upgrade installs the candidates and records them. A layer without a
// probe (a new machine) and every download checksum are re-resolved when a
// layer next installs them, and recorded then: a plan downloads nothing,
// since an installer can weigh a gigabyte.
func (e *Engine) upgradeLockChanges(p *Plan) {
	if !e.Upgrade || e.Lock == nil {
		return
	}
	probed := probedUpgrades(p)
	for _, k := range sortedKeys(e.Lock.Layers) {
		lp := e.Lock.Layers[k]
		if layer := probed[k]; layer != nil {
			p.LockChanges = append(p.LockChanges, packageMoves(p, layer, lp.Packages))
			continue
		}
		var pkgs []string
		for _, n := range sortedKeys(lp.Packages) {
			pkgs = append(pkgs, n+" "+lp.Packages[n])
		}
		p.LockChanges = append(p.LockChanges, &LockChange{Kind: "layer", Key: k, Action: Update,
			Before: strings.Join(pkgs, ", "), After: "the versions the mirror has when the layer next installs",
			Reason: "-upgrade"})
	}
	for _, k := range sortedKeys(e.Lock.Downloads) {
		p.LockChanges = append(p.LockChanges, &LockChange{Kind: "download", Key: k, Action: Update,
			Before: "sha256 " + e.Lock.Downloads[k].SHA256,
			After:  "re-resolved if a layer downloads it in this apply (a new machine, a changed layer): the sha256 it gets is recorded then instead of checked",
			Reason: "-upgrade"})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// recordLockFactsLocked records what a layer reported after it ran: the
// versions of its packages (replacing the layer's entry) and the checksums
// of its downloads. a.mu must be held.
func (a *applier) recordLockFactsLocked(l addrs.Layer, f providers.LockFacts) {
	if a.opts.Lock == nil {
		return
	}
	if f.Packages != nil {
		lp := &lockfile.LayerPackages{Addr: lockKey(l), Packages: map[string]string{}}
		for n, v := range f.Packages {
			lp.Packages[n] = v
		}
		a.opts.Lock.Layers[lockKey(l)] = lp
	}
	for url, sum := range f.Downloads {
		a.opts.Lock.Downloads[url] = &lockfile.Download{URL: url, SHA256: sum}
	}
}

// commitLockData records in the lock the data source values this apply
// used, each only when every change that depends on it succeeded: a lock
// never names an image that the machines were not built from. After a
// wholly successful apply it also drops entries of data sources and layers
// that are no longer configured.
func (a *applier) commitLockData(applyN map[addrs.Resource]*node) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lk := a.opts.Lock
	if lk == nil || a.plan.Destroy {
		return
	}
	for addr, v := range a.dataUsed {
		ok := true
		for _, ch := range a.plan.Changes {
			dependsOn := false
			for _, d := range ch.Dependencies {
				dependsOn = dependsOn || d == addr
			}
			if n := applyN[ch.Addr]; dependsOn && n != nil && !n.ok {
				ok = false
			}
		}
		if ok {
			lk.SetData(addr.Type, addr.Name, v)
		}
	}
	if a.diags.HasErrors() {
		return
	}
	layers := map[string]bool{}
	for _, cr := range a.e.Config.Resources {
		for _, l := range cr.Layers {
			layers[l.Addr.String()] = true
		}
	}
	for k := range lk.Layers {
		if !layers[k] {
			delete(lk.Layers, k)
		}
	}
	for k, d := range lk.Data {
		if addr, err := addrs.ParseResource(k); err != nil || a.e.Config.Resources[addr] == nil {
			delete(lk.Data, k)
		} else if d.Type != addr.Type {
			delete(lk.Data, k)
		}
	}
}

// lockFoundPackages records in the plan's lock the package versions that
// probes found on hosts for layers the lock has no entry for: a machine
// converged before the lock existed, whose layers are in place and will not
// run again. What a host already has is a fact worth keeping, so that a new
// machine gets the same versions.
func (e *Engine) lockFoundPackages(p *Plan) {
	if p.Lock == nil {
		return
	}
	for _, ch := range p.Changes {
		for _, lc := range ch.Layers {
			k := lockKey(lc.Addr)
			if lc.Action != NoOp || len(lc.Found.Packages) == 0 || p.Lock.Layers[k] != nil {
				continue
			}
			lp := &lockfile.LayerPackages{Addr: k, Packages: map[string]string{}}
			var pkgs []string
			for _, n := range sortedKeys(lc.Found.Packages) {
				lp.Packages[n] = lc.Found.Packages[n]
				pkgs = append(pkgs, n+" "+lc.Found.Packages[n])
			}
			p.Lock.Layers[k] = lp
			p.LockChanges = append(p.LockChanges, &LockChange{Kind: "layer", Key: k, Action: Create,
				After: strings.Join(pkgs, ", "), Reason: "found on the host"})
		}
	}
}

// ApplyLock is the lock an apply of p starts from: the lock as read, plus
// what p found on hosts (lockFoundPackages) and, with -upgrade, the package
// versions it re-resolved for layers that do not run (packageMoves). The
// data sources p resolved are left out: the apply records them once what
// is built from them exists.
func ApplyLock(read *lockfile.Lock, p *Plan) *lockfile.Lock {
	out := read.Clone()
	if p.Lock == nil {
		return out
	}
	for k, lp := range p.Lock.Layers {
		if out.Layers[k] == nil || p.Upgrade {
			out.Layers[k] = lp
		}
	}
	return out
}
