package prices

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// DefaultVolumeType is the EBS type assumed for a root volume whose type the
// resource does not say: gp3, what mlops asks EC2 for.
const DefaultVolumeType = "gp3"

// Resource is one resource to price: its address, type and value (a state,
// a planned value or an evaluated configuration; null when it does not exist).
type Resource struct {
	Address string
	Type    string
	Value   cty.Value
}

// Cost is what one resource costs in one state of the world.
type Cost struct {
	// Hourly is the cost per hour while the machine runs: the instance,
	// its disk (monthly price / 730) and its public IPv4 address.
	Hourly float64
	// StoppedMonthly is the cost per month while it is stopped: the disk,
	// an Elastic IP.
	StoppedMonthly float64
	// Running is the value's own running state (false for a stopped
	// instance, true for anything that is always billed).
	Running bool
	// Label describes what was priced: "t2.xlarge, 30 GiB gp3".
	Label string
	// Unknown lists what could not be priced; the sums above leave it out.
	Unknown []string
}

// Known reports whether everything was priced.
func (c *Cost) Known() bool { return c != nil && len(c.Unknown) == 0 }

// Price prices one resource value in a region. It returns nil for types
// that cost nothing by themselves (key pairs, security groups) and for a
// null value (the resource does not exist). eipInstances are the instance
// IDs that have an Elastic IP, whose own public IPv4 is then not charged.
func (t *Table) Price(region string, r Resource, eipInstances map[string]bool) *Cost {
	v := r.Value
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return nil
	}
	switch r.Type {
	case "aws_instance":
		c := &Cost{Running: boolAttr(v, "running", true)}
		typ, ok := stringAttr(v, "instance_type")
		switch {
		case !ok:
			c.Unknown = append(c.Unknown, "instance type known after apply")
			c.Label = "type known after apply"
		default:
			c.Label = typ
			if h, ok := t.InstanceHourly(region, typ); ok {
				c.Hourly += h
				c.Label += " " + Dollars(h) + "/h"
			} else {
				c.Unknown = append(c.Unknown, fmt.Sprintf("price unknown for %s in %s", typ, regionName(region)))
			}
		}
		volType := DefaultVolumeType
		for _, a := range []string{"root_volume_type", "volume_type"} {
			if s, ok := stringAttr(v, a); ok {
				volType = s
			}
		}
		if gb, ok := intAttr(v, "disk_gb"); ok {
			c.Label += fmt.Sprintf(", %d GiB %s", gb, volType)
			if m, ok := t.VolumeMonthly(region, volType, gb); ok {
				c.StoppedMonthly += m
				c.Hourly += m / HoursPerMonth
				c.Label += " " + Monthly(m) + "/month"
			} else {
				c.Unknown = append(c.Unknown, fmt.Sprintf("price unknown for %s volumes in %s", volType, regionName(region)))
			}
		} else {
			c.Unknown = append(c.Unknown, "disk size known after apply")
		}
		if id, _ := stringAttr(v, "id"); id == "" || !eipInstances[id] {
			c.Hourly += t.IPv4Hourly
			c.Label += ", public IPv4 " + Dollars(t.IPv4Hourly) + "/h"
		}
		return c
	case "aws_eip":
		m := t.IPv4Hourly * HoursPerMonth
		return &Cost{Hourly: t.IPv4Hourly, StoppedMonthly: m, Running: true, Label: "Elastic IP " + Dollars(t.IPv4Hourly) + "/h"}
	}
	return nil
}

// Change is the cost of one resource before and after a plan.
type Change struct {
	Address       string
	Before, After *Cost
}

// Estimate is the cost of a stack before and after a plan.
type Estimate struct {
	Region       string
	Date, Source string
	Resources    []Change
	// Totals over the resources whose costs are known (see Unknown).
	HourlyBefore, HourlyAfter                 float64
	StoppedMonthlyBefore, StoppedMonthlyAfter float64
	// Unknown is true when some part of some resource could not be priced.
	Unknown bool
}

// Estimate prices every pair of values (before, after) of a plan's
// resources. Resources that cost nothing are left out.
func (t *Table) Estimate(region string, before, after []Resource) *Estimate {
	e := &Estimate{Region: region, Date: t.Date, Source: t.Source}
	eipsBefore, eipsAfter := eipInstances(before), eipInstances(after)
	for i := range before {
		b := t.Price(region, before[i], eipsBefore)
		a := t.Price(region, after[i], eipsAfter)
		if a == nil && b == nil {
			continue
		}
		e.Resources = append(e.Resources, Change{Address: before[i].Address, Before: b, After: a})
		for _, c := range []*Cost{a, b} {
			if c != nil && !c.Known() {
				e.Unknown = true
			}
		}
		if b != nil {
			e.HourlyBefore += b.Hourly
			e.StoppedMonthlyBefore += b.StoppedMonthly
		}
		if a != nil {
			e.HourlyAfter += a.Hourly
			e.StoppedMonthlyAfter += a.StoppedMonthly
		}
	}
	sort.Slice(e.Resources, func(i, j int) bool { return e.Resources[i].Address < e.Resources[j].Address })
	return e
}

// Describe is one line on the table: "AWS on-demand prices of 2024-06-01 (source ...)".
func (t *Table) Describe() string {
	return "AWS on-demand prices of " + t.Date + " (" + t.Source + ")"
}

func eipInstances(rs []Resource) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		if r.Type == "aws_eip" {
			if id, ok := stringAttr(r.Value, "instance"); ok {
				out[id] = true
			}
		}
	}
	return out
}

func regionName(r string) string {
	if r == "" {
		return "an unknown region"
	}
	return r
}

func attr(v cty.Value, name string) cty.Value {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v.GetAttr(name)
}

func stringAttr(v cty.Value, name string) (string, bool) {
	a := attr(v, name)
	if !a.IsKnown() || a.IsNull() || a.Type() != cty.String || strings.TrimSpace(a.AsString()) == "" {
		return "", false
	}
	return a.AsString(), true
}

func boolAttr(v cty.Value, name string, def bool) bool {
	a := attr(v, name)
	if !a.IsKnown() || a.IsNull() || a.Type() != cty.Bool {
		return def
	}
	return a.True()
}

func intAttr(v cty.Value, name string) (int64, bool) {
	a := attr(v, name)
	if !a.IsKnown() || a.IsNull() || a.Type() != cty.Number {
		return 0, false
	}
	i, acc := a.AsBigFloat().Int64()
	return i, acc == big.Exact
}
