package plan

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
)

// expand returns the instances of a configured resource block with count
// or for_each, and true; false for any other address (a block without
// either, or an instance already). Instances is nil when the count or
// for_each cannot be evaluated; the problem is in diags.
func (e *Engine) expand(addr addrs.Resource, vals config.Values, diags *hcl.Diagnostics) ([]addrs.Resource, bool) {
	cr := e.Config.Resources[addr]
	if addr.Key != addrs.NoKey || cr == nil || !cr.Expanded() {
		return nil, false
	}
	insts, d := e.Config.Expand(addr, vals)
	*diags = append(*diags, d...)
	if d.HasErrors() {
		return nil, true
	}
	if insts == nil {
		insts = []addrs.Resource{}
	}
	return insts, true
}

// instanceDeps turns dependencies on resource blocks into dependencies on
// their instances: a reference to aws_instance.box depends on every
// aws_instance.box[KEY] the plan has. A dependency on a block without
// count or for_each, or on a single instance, stays as it is.
func instanceDeps(deps []addrs.Resource, byBlock map[addrs.Resource][]addrs.Resource) []addrs.Resource {
	out := make([]addrs.Resource, 0, len(deps))
	for _, d := range deps {
		out = append(out, d)
		if d.Key == addrs.NoKey {
			out = append(out, byBlock[d]...)
		}
	}
	return out
}

// instancesByBlock groups the keyed instances of the plan's changes by
// resource block.
func instancesByBlock(p *Plan) map[addrs.Resource][]addrs.Resource {
	m := map[addrs.Resource][]addrs.Resource{}
	for _, ch := range p.Changes {
		if ch.Addr.Key != addrs.NoKey {
			m[ch.Addr.NoKey()] = append(m[ch.Addr.NoKey()], ch.Addr)
		}
	}
	return m
}

// goneReason says why a recorded resource that the plan does not keep is
// destroyed: its block was removed, or its key left count or for_each.
func (e *Engine) goneReason(addr addrs.Resource) string {
	cr := e.Config.Resources[addr.NoKey()]
	switch {
	case cr == nil:
		return "it is no longer in the configuration"
	case addr.Key == addrs.NoKey:
		return "the resource now has count or for_each: its instances have keys"
	case !cr.Expanded():
		return "the resource no longer has count or for_each"
	case addr.Key.IsInt():
		return "its index is beyond count"
	}
	return fmt.Sprintf("its key %q is no longer in for_each", addr.Key.Str())
}

// lockKey is the key of a layer in the lock file: the layer of the
// resource block, without instance key, so that every instance of a block
// with count or for_each (a box per member) installs the same versions,
// and a new member's box gets the versions the others have.
func lockKey(l addrs.Layer) string {
	l.Resource = l.Resource.NoKey()
	return l.String()
}
