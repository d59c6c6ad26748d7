package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Budget is the mlops { budget { max_hourly = 1.50 } } block: a plan whose
// machines would cost more per hour while running is refused.
type Budget struct {
	// MaxHourly is the limit in US dollars per hour.
	MaxHourly float64
	// MaxHourlyRange is where the limit is written, for diagnostics.
	MaxHourlyRange hcl.Range
	DeclRange      hcl.Range
}

var budgetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "max_hourly", Required: true}},
}

func (l *loader) decodeBudget(b *hcl.Block) {
	content, diags := b.Body.Content(budgetSchema)
	l.diags = append(l.diags, diags...)
	if l.c.Budget != nil {
		l.errorf(b.DefRange.Ptr(), "Duplicate budget block",
			"A budget was already set at %s; a configuration has one budget.", rangeString(l.c.Budget.DeclRange))
		return
	}
	a := content.Attributes["max_hourly"]
	if a == nil {
		return
	}
	v, ok := l.constValue(a, cty.Number)
	if !ok || v.IsNull() {
		return
	}
	f, _ := v.AsBigFloat().Float64()
	if f <= 0 {
		l.errorf(a.Expr.Range().Ptr(), "Invalid budget",
			"max_hourly is a price in US dollars per hour, such as 1.50; it must be more than 0.")
		return
	}
	l.c.Budget = &Budget{MaxHourly: f, MaxHourlyRange: a.Expr.Range(), DeclRange: b.DefRange}
}
