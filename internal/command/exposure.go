package command

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/zclconf/go-cty/cty"
)

// exposureWarnings warns about every security group ingress rule that opens
// a port other than 22 to the whole internet (0.0.0.0/0 or ::/0): Jupyter
// and MLflow have no business there; ssh { forward = { ... } } reaches
// them through SSH with no rule at all.
func exposureWarnings(cfg *config.Config, p *plan.Plan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, ch := range p.Changes {
		if ch.Addr.Type != "aws_security_group" || ch.After == cty.NilVal || ch.After.IsNull() || !ch.After.IsKnown() {
			continue
		}
		rules := ch.After.GetAttr("ingress")
		if !rules.IsKnown() || rules.IsNull() {
			continue
		}
		for it := rules.ElementIterator(); it.Next(); {
			_, r := it.Element()
			if !r.IsKnown() || r.IsNull() || !openToAll(r.GetAttr("cidr_blocks")) {
				continue
			}
			from, to, proto := portOf(r, "port"), portOf(r, "to_port"), "tcp"
			if pv := r.GetAttr("protocol"); pv.IsKnown() && !pv.IsNull() {
				proto = pv.AsString()
			}
			if to == 0 {
				to = from
			}
			var what string
			switch {
			case proto == "-1":
				what = "all traffic is"
			case proto == "icmp":
				continue
			case from == 22 && to == 22:
				continue
			case from == to:
				what = fmt.Sprintf("port %d/%s is", from, proto)
			default:
				what = fmt.Sprintf("ports %d-%d/%s are", from, to, proto)
			}
			d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Open to the internet",
				Detail: fmt.Sprintf("In %s, %s open to the whole internet. A notebook or a tracking server needs no security group rule: ssh { forward = { jupyter = 8888 } } reaches it through SSH (ssh ALIAS, or mlops ssh ALIAS -forward).", ch.Addr, what)}
			if cr := cfg.Resources[ch.Addr]; cr != nil {
				d.Subject = cr.DeclRange.Ptr()
			}
			diags = append(diags, d)
		}
	}
	return diags
}

func openToAll(v cty.Value) bool {
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, c := it.Element()
		if c.IsKnown() && !c.IsNull() && (c.AsString() == "0.0.0.0/0" || c.AsString() == "::/0") {
			return true
		}
	}
	return false
}

func portOf(r cty.Value, name string) int64 {
	v := r.GetAttr(name)
	if !v.IsKnown() || v.IsNull() {
		return 0
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0
	}
	return i
}
