package plan

import (
	"sort"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
)

// TopoOrder orders the configured resources so that every resource comes
// after the ones it depends on; ties are broken by address for stable
// output. It returns a cycle when there is one (config reports cycles too,
// with source ranges; this is the engine's own guard).
func TopoOrder(c *config.Config) (order []addrs.Resource, cycle []addrs.Resource) {
	deps := map[addrs.Resource][]addrs.Resource{}
	for a, r := range c.Resources {
		deps[a] = r.DependsOn
	}
	return topo(deps)
}

func topo(deps map[addrs.Resource][]addrs.Resource) (order []addrs.Resource, cycle []addrs.Resource) {
	keys := make([]addrs.Resource, 0, len(deps))
	for a := range deps {
		keys = append(keys, a)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	const (
		white = iota
		grey
		black
	)
	color := map[addrs.Resource]int{}
	var stack []addrs.Resource
	var visit func(a addrs.Resource) bool
	visit = func(a addrs.Resource) bool {
		switch color[a] {
		case grey:
			for i, s := range stack {
				if s == a {
					cycle = append(append([]addrs.Resource{}, stack[i:]...), a)
				}
			}
			return false
		case black:
			return true
		}
		color[a] = grey
		stack = append(stack, a)
		ds := append([]addrs.Resource{}, deps[a]...)
		sort.Slice(ds, func(i, j int) bool { return ds[i].String() < ds[j].String() })
		for _, d := range ds {
			if _, ok := deps[d]; !ok {
				continue
			}
			if !visit(d) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		color[a] = black
		order = append(order, a)
		return true
	}
	for _, k := range keys {
		if !visit(k) {
			return nil, cycle
		}
	}
	return order, nil
}
