package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/state"
)

func TestStateAddrsOfInstances(t *testing.T) {
	st := state.New("l")
	box := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "box"}
	for _, a := range []addrs.Resource{box.Instance(addrs.StringKey("alice")), box.Instance(addrs.StringKey("bob")),
		{Mode: addrs.Managed, Type: "aws_instance", Name: "boxes"}, {Mode: addrs.Managed, Type: "aws_instance", Name: "web"}} {
		st.SetResource(state.ResourceFor(a))
	}
	tests := map[string][]string{
		`aws_instance.box["bob"]`:      {`aws_instance.box["bob"]`},
		`aws_instance.box[ "bob"]`:     nil, // not an address mlops writes: matches nothing
		`aws_instance.box["b\u006fb"]`: {`aws_instance.box["bob"]`},
		`aws_instance.box`:             {`aws_instance.box["alice"]`, `aws_instance.box["bob"]`},
		`aws_instance.web`:             {`aws_instance.web`},
		`aws_instance.box["carol"]`:    nil,
		`aws_instance.nope`:            nil,
	}
	for in, want := range tests {
		var got []string
		for _, a := range stateAddrs(st, in) {
			got = append(got, a.String())
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("stateAddrs(%s) (-want +got):\n%s", in, d)
		}
	}
}
