package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
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

// TestFindSSHHostByAddress: a host is found by its alias or by any spelling
// of its address that parses to it; an unparsable name finds nothing.
func TestFindSSHHostByAddress(t *testing.T) {
	box := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "box"}
	alice := box.Instance(addrs.StringKey("alice"))
	hosts := []plan.HostSSH{{Addr: alice}, {Addr: box.Instance(addrs.StringKey("bob"))}}
	hosts[1].SSH.Alias = "bob-box"
	for name, want := range map[string]string{
		`aws_instance.box["alice"]`:      alice.String(),
		`aws_instance.box["\u0061lice"]`: alice.String(),
		"bob-box":                        `aws_instance.box["bob"]`,
		`aws_instance.box[ "alice"]`:     "",
		"aws_instance.box":               "",
	} {
		h, err := findSSHHost(hosts, name)
		switch {
		case want == "" && err == nil:
			t.Errorf("findSSHHost(%s) = %s, want an error", name, h.Addr)
		case want != "" && (err != nil || h.Addr.String() != want):
			t.Errorf("findSSHHost(%s) = %s, %v; want %s", name, h.Addr, err, want)
		}
	}
}
