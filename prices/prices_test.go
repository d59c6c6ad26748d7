package prices

import (
	"math"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestEmbeddedTable(t *testing.T) {
	tb := AWS()
	if tb.Date != "2024-06-01" || tb.Source == "" || tb.IPv4Hourly != 0.005 {
		t.Fatalf("table header: date %q source %q ipv4 %v", tb.Date, tb.Source, tb.IPv4Hourly)
	}
	for _, c := range []struct {
		region, typ string
		want        float64
	}{
		{"eu-west-1", "t2.xlarge", 0.2016},
		{"us-east-1", "t2.xlarge", 0.1856},
		{"us-west-2", "g4dn.xlarge", 0.526}, // same as us-east-1
		{"eu-central-1", "p3.2xlarge", 3.823},
	} {
		got, ok := tb.InstanceHourly(c.region, c.typ)
		if !ok || got != c.want {
			t.Errorf("%s %s: got %v %v, want %v", c.region, c.typ, got, ok, c.want)
		}
	}
	if _, ok := tb.InstanceHourly("ap-south-1", "t2.xlarge"); ok {
		t.Error("an unlisted region has a price")
	}
	if m, ok := tb.VolumeMonthly("eu-west-1", "gp3", 30); !ok || math.Abs(m-2.64) > 1e-9 {
		t.Errorf("30 GiB gp3 in eu-west-1: %v %v", m, ok)
	}
}

func instance(typ string, disk int64, running bool) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"instance_type": cty.StringVal(typ), "disk_gb": cty.NumberIntVal(disk), "running": cty.BoolVal(running),
		"id": cty.StringVal("i-1"),
	})
}

func TestEstimate(t *testing.T) {
	tb := AWS()
	null := cty.NullVal(cty.DynamicPseudoType)
	before := []Resource{
		{Address: "aws_instance.a", Type: "aws_instance", Value: instance("t2.xlarge", 30, true)},
		{Address: "aws_eip.ip", Type: "aws_eip", Value: null},
		{Address: "aws_instance.b", Type: "aws_instance", Value: instance("t9.huge", 8, false)},
	}
	after := []Resource{
		{Address: "aws_instance.a", Type: "aws_instance", Value: instance("g4dn.xlarge", 30, true)},
		{Address: "aws_eip.ip", Type: "aws_eip", Value: cty.ObjectVal(map[string]cty.Value{"instance": cty.StringVal("i-1")})},
		{Address: "aws_instance.b", Type: "aws_instance", Value: instance("t9.huge", 8, false)},
	}
	e := tb.Estimate("eu-west-1", before, after)
	if len(e.Resources) != 3 || !e.Unknown {
		t.Fatalf("%+v", e)
	}
	a := e.Resources[1] // sorted: aws_eip.ip, aws_instance.a, aws_instance.b
	if a.Address != "aws_instance.a" {
		t.Fatalf("order: %+v", e.Resources)
	}
	// Before: t2.xlarge + 30 GiB gp3 + its own public IPv4; after: the
	// Elastic IP carries the address, the instance's own is not charged.
	if got, want := a.Before.Hourly, 0.2016+2.64/730+0.005; math.Abs(got-want) > 1e-9 {
		t.Errorf("before: %v, want %v", got, want)
	}
	if got, want := a.After.Hourly, 0.587+2.64/730; math.Abs(got-want) > 1e-9 {
		t.Errorf("after: %v, want %v", got, want)
	}
	if got := e.StoppedMonthlyAfter - e.StoppedMonthlyBefore; math.Abs(got-3.65) > 1e-9 {
		t.Errorf("the Elastic IP adds %v per month while stopped, want 3.65", got)
	}
	if b := e.Resources[2]; b.After.Known() || b.After.Unknown[0] != "price unknown for t9.huge in eu-west-1" {
		t.Errorf("unknown type: %+v", b.After)
	}
	if Dollars(0.2102161) != "$0.2102" || Monthly(2.64) != "$2.64" {
		t.Error("formatting")
	}
}
