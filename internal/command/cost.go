package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/prices"
	"github.com/zclconf/go-cty/cty"
)

// awsRegion is the region of the aws provider block ("" when there is none
// or it is not known).
func awsRegion(cfg *config.Config) string {
	if cfg == nil || cfg.Providers["aws"] == nil {
		return ""
	}
	v, diags := cfg.EvalProvider("aws")
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || !v.Type().HasAttribute("region") {
		return ""
	}
	r := v.GetAttr("region")
	if !r.IsKnown() || r.IsNull() || r.Type() != cty.String {
		return ""
	}
	return r.AsString()
}

// estimatePlan prices every managed resource of the plan before and after it.
func estimatePlan(cfg *config.Config, p *plan.Plan) *prices.Estimate {
	var before, after []prices.Resource
	for _, ch := range p.Changes {
		if ch.Addr.Mode != addrs.Managed {
			continue
		}
		before = append(before, prices.Resource{Address: ch.Addr.String(), Type: ch.Addr.Type, Value: ch.Before})
		after = append(after, prices.Resource{Address: ch.Addr.String(), Type: ch.Addr.Type, Value: ch.After})
	}
	return prices.AWS().Estimate(awsRegion(cfg), before, after)
}

// runningHourly sums the hourly cost of the machines that will run.
func runningHourly(costs []*prices.Cost) float64 {
	sum := 0.0
	for _, c := range costs {
		if c != nil && c.Running {
			sum += c.Hourly
		}
	}
	return sum
}

// checkBudget refuses a configuration whose machines cost more per hour,
// while they run, than mlops { budget { max_hourly } } allows. It reads the
// configuration only (instance types, disks, running), so it runs before any
// API call; resources whose price depends on values only the cloud knows
// are priced by checkPlanBudget after planning, still before any change.
func checkBudget(cfg *config.Config) hcl.Diagnostics {
	if cfg == nil || cfg.Budget == nil {
		return nil
	}
	region := awsRegion(cfg)
	var rs []prices.Resource
	for addr := range cfg.Resources {
		if addr.Mode != addrs.Managed {
			continue
		}
		v, diags := cfg.EvalResource(addr, nil)
		if diags.HasErrors() {
			continue
		}
		rs = append(rs, prices.Resource{Address: addr.String(), Type: addr.Type, Value: v})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Address < rs[j].Address })
	t := prices.AWS()
	var costs []*prices.Cost
	var lines []string
	var unknown []string
	for _, r := range rs {
		c := t.Price(region, r, nil)
		if c == nil {
			continue
		}
		costs = append(costs, c)
		if c.Running {
			lines = append(lines, fmt.Sprintf("  %s (%s): %s/h", r.Address, c.Label, prices.Dollars(c.Hourly)))
		}
		for _, u := range c.Unknown {
			if !strings.Contains(u, "after apply") {
				unknown = append(unknown, r.Address+": "+u)
			}
		}
	}
	return budgetDiags(cfg.Budget, runningHourly(costs), lines, unknown)
}

// checkPlanBudget is checkBudget on the planned values.
func checkPlanBudget(cfg *config.Config, e *prices.Estimate) hcl.Diagnostics {
	if cfg == nil || cfg.Budget == nil || e == nil {
		return nil
	}
	var costs []*prices.Cost
	var lines []string
	for _, r := range e.Resources {
		costs = append(costs, r.After)
		if r.After != nil && r.After.Running {
			lines = append(lines, fmt.Sprintf("  %s (%s): %s/h", r.Address, r.After.Label, prices.Dollars(r.After.Hourly)))
		}
	}
	return budgetDiags(cfg.Budget, runningHourly(costs), lines, nil)
}

func budgetDiags(b *config.Budget, total float64, lines, unknown []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	t := prices.AWS()
	if total > b.MaxHourly+1e-9 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Over budget",
			Detail: fmt.Sprintf("The machines of this configuration cost $%.4f per hour while they run, more than max_hourly = %g allows (%s):\n%s\nChoose a smaller instance type, stop a machine (running = false), or raise max_hourly.",
				total, b.MaxHourly, t.Describe(), strings.Join(lines, "\n")),
			Subject: b.MaxHourlyRange.Ptr(),
		})
	}
	for _, u := range unknown {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Price unknown",
			Detail:   u + "; the budget does not count it.",
			Subject:  b.MaxHourlyRange.Ptr(),
		})
	}
	return diags
}
