package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
)

func ra(s string) addrs.Resource {
	a, err := addrs.ParseResource(s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestTopo(t *testing.T) {
	deps := map[addrs.Resource][]addrs.Resource{
		ra("aws_instance.web"):     {ra("aws_key_pair.k"), ra("aws_security_group.s"), ra("data.aws_ami.u")},
		ra("aws_key_pair.k"):       nil,
		ra("aws_security_group.s"): nil,
		ra("data.aws_ami.u"):       nil,
		ra("host.lab"):             nil,
	}
	order, cycle := topo(deps)
	if cycle != nil {
		t.Fatalf("unexpected cycle %v", cycle)
	}
	got := addrStrings(nil)
	for _, a := range order {
		got = append(got, a.String())
	}
	want := []string{"aws_key_pair.k", "aws_security_group.s", "data.aws_ami.u", "aws_instance.web", "host.lab"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("order (-want +got):\n%s", d)
	}
}

func TestTopoCycle(t *testing.T) {
	deps := map[addrs.Resource][]addrs.Resource{
		ra("aws_instance.a"): {ra("aws_instance.b")},
		ra("aws_instance.b"): {ra("aws_instance.a")},
	}
	_, cycle := topo(deps)
	want := []string{"aws_instance.a", "aws_instance.b", "aws_instance.a"}
	var got []string
	for _, a := range cycle {
		got = append(got, a.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("cycle (-want +got):\n%s", d)
	}
}
