package views

import (
	"math"
	"strings"

	"github.com/mlops-dev/mlops/prices"
)

// renderCosts writes the cost estimate of a plan: per resource, what it
// costs per hour while running and per month while stopped, before -> after,
// and the totals. Prices the table lacks are "price unknown", with why.
func renderCosts(lw *lineWriter, e *prices.Estimate) {
	if e == nil || len(e.Resources) == 0 {
		return
	}
	region := e.Region
	if region == "" {
		region = "an unknown region"
	}
	lw.line("")
	lw.line("%s", lw.streams.color(bold, "Cost estimate in "+region)+" (AWS on-demand prices of "+e.Date+"; source: "+e.Source+"):")
	for _, r := range e.Resources {
		label := costLabel(r.Before, r.After)
		lw.line("  %s (%s)", r.Address, label)
		hourly := func(c *prices.Cost) float64 { return c.Hourly }
		monthly := func(c *prices.Cost) float64 { return c.StoppedMonthly }
		lw.line("      $/h while running:      %s", beforeAfter(r.Before, r.After, hourly, prices.Dollars))
		lw.line("      $/month while stopped:  %s", beforeAfter(r.Before, r.After, monthly, prices.Monthly))
		for _, u := range unknowns(r.Before, r.After) {
			lw.line("      # %s", u)
		}
	}
	total := func(b, a float64, f func(float64) string) string {
		if same(b, a) {
			return f(a)
		}
		return f(b) + " -> " + f(a)
	}
	line := "  Total: " + total(e.HourlyBefore, e.HourlyAfter, prices.Dollars) + "/h while running, " +
		total(e.StoppedMonthlyBefore, e.StoppedMonthlyAfter, prices.Monthly) + "/month while stopped"
	if e.Unknown {
		line += " (without the prices unknown above)"
	}
	lw.line("%s", line)
}

func same(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func costLabel(before, after *prices.Cost) string {
	switch {
	case before == nil:
		return after.Label
	case after == nil || before.Label == after.Label:
		return before.Label
	}
	return before.Label + " -> " + after.Label
}

func beforeAfter(before, after *prices.Cost, get func(*prices.Cost) float64, f func(float64) string) string {
	switch {
	case before == nil:
		return "$0 -> " + f(get(after))
	case after == nil:
		return f(get(before)) + " -> $0"
	case same(get(before), get(after)):
		return f(get(after))
	}
	return f(get(before)) + " -> " + f(get(after))
}

func unknowns(cs ...*prices.Cost) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cs {
		if c == nil {
			continue
		}
		for _, u := range c.Unknown {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// JSON form of the estimate (docs/json-format.md, "costs").
type jsonCosts struct {
	Region    string             `json:"region"`
	PriceDate string             `json:"price_date"`
	Source    string             `json:"price_source"`
	Resources []jsonResourceCost `json:"resources"`
	Total     jsonCostPair       `json:"total"`
	Unknown   bool               `json:"incomplete"`
}

type jsonResourceCost struct {
	Address string    `json:"address"`
	Before  *jsonCost `json:"before"`
	After   *jsonCost `json:"after"`
	Unknown []string  `json:"unknown,omitempty"`
}

type jsonCost struct {
	Label          string  `json:"label"`
	Hourly         float64 `json:"hourly_while_running"`
	StoppedMonthly float64 `json:"monthly_while_stopped"`
	Running        bool    `json:"running"`
	Complete       bool    `json:"complete"`
}

type jsonCostPair struct {
	HourlyBefore         float64 `json:"hourly_while_running_before"`
	HourlyAfter          float64 `json:"hourly_while_running_after"`
	StoppedMonthlyBefore float64 `json:"monthly_while_stopped_before"`
	StoppedMonthlyAfter  float64 `json:"monthly_while_stopped_after"`
}

func roundUSD(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func costJSON(c *prices.Cost) *jsonCost {
	if c == nil {
		return nil
	}
	return &jsonCost{Label: c.Label, Hourly: roundUSD(c.Hourly), StoppedMonthly: roundUSD(c.StoppedMonthly), Running: c.Running, Complete: c.Known()}
}

func costsJSON(e *prices.Estimate) *jsonCosts {
	if e == nil {
		return nil
	}
	j := &jsonCosts{Region: e.Region, PriceDate: e.Date, Source: e.Source, Resources: []jsonResourceCost{}, Unknown: e.Unknown,
		Total: jsonCostPair{HourlyBefore: roundUSD(e.HourlyBefore), HourlyAfter: roundUSD(e.HourlyAfter),
			StoppedMonthlyBefore: roundUSD(e.StoppedMonthlyBefore), StoppedMonthlyAfter: roundUSD(e.StoppedMonthlyAfter)}}
	for _, r := range e.Resources {
		j.Resources = append(j.Resources, jsonResourceCost{Address: r.Address, Before: costJSON(r.Before), After: costJSON(r.After),
			Unknown: unknowns(r.Before, r.After)})
	}
	return j
}

// CostLine is the one-line summary of a cost, for status views.
func CostLine(c *prices.Cost) string {
	if c == nil {
		return ""
	}
	s := prices.Dollars(c.Hourly) + "/h while running, " + prices.Monthly(c.StoppedMonthly) + "/month while stopped"
	if !c.Known() {
		s += " (" + strings.Join(c.Unknown, "; ") + ")"
	}
	return s
}
