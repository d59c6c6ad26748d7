package command

import (
	"github.com/mlops-dev/mlops/addrs"
)

// parseAddrList reads the -replace or -delete addresses (TYPE.NAME,
// TYPE.NAME[KEY]), without repeats.
func parseAddrList(list []string) ([]addrs.Resource, error) {
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

// addrArgs are the -replace or -delete addresses a saved plan was made
// with, as arguments: the plan made again to check it is made with them
// too.
func addrArgs(list []addrs.Resource) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.String())
	}
	return out
}
