package command

import (
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
)

// parseReplace reads the -replace addresses (TYPE.NAME), without repeats.
func parseReplace(list []string) ([]addrs.Resource, error) {
	var out []addrs.Resource
	seen := map[addrs.Resource]bool{}
	for _, s := range list {
		a, err := addrs.ParseResource(s)
		if err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// savedReplace are the -replace addresses a saved plan was made with: the
// plan made again to check it is made with them too.
func savedReplace(p *plan.Plan) []string {
	out := make([]string, 0, len(p.Replace))
	for _, a := range p.Replace {
		out = append(out, a.String())
	}
	return out
}
