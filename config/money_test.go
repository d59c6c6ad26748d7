package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/zclconf/go-cty/cty"
)

// TestForwardsWakeAndBudget: ssh { forward, wake } and mlops { budget }
// are read, and bad values are reported with file:line before anything runs.
func TestForwardsWakeAndBudget(t *testing.T) {
	c := mustLoad(t, `
mlops {
  budget { max_hourly = 1.50 }
}
resource "aws_instance" "a" {
  ami = "ami-1"
  ssh {
    host    = "127.0.0.1"
    forward = { jupyter = 8888, mlflow = "15000:5000", db = "5433:db.internal:5432" }
    wake    = true
  }
}
`, testOpts())
	if c.Budget == nil || c.Budget.MaxHourly != 1.5 || c.Budget.MaxHourlyRange.Start.Line != 3 {
		t.Errorf("budget: %+v", c.Budget)
	}
	set, diags := c.EvalSSH(addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "a"}, nil, cty.NilVal)
	if diags.HasErrors() {
		t.Fatal(renderDiags(diags))
	}
	want := []Forward{
		{Name: "db", LocalPort: 5433, RemoteHost: "db.internal", RemotePort: 5432},
		{Name: "jupyter", LocalPort: 8888, RemoteHost: "localhost", RemotePort: 8888},
		{Name: "mlflow", LocalPort: 15000, RemoteHost: "localhost", RemotePort: 5000},
	}
	if d := cmp.Diff(want, set.Forwards); d != "" || !set.Wake {
		t.Errorf("forwards (-want +got):\n%s\nwake %v", d, set.Wake)
	}

	for _, tc := range []struct{ src, want, detail string }{
		{`mlops {
  budget { max_hourly = -1 }
}`, "main.hcl:2: Invalid budget", "more than 0"},
		{`resource "aws_instance" "a" {
  ami = "ami-1"
  ssh {
    host    = "127.0.0.1"
    forward = { jupyter = "88888" }
  }
}`, "main.hcl:5: Invalid port forward", `"88888" is not a port`},
		{`resource "aws_instance" "a" {
  ami = "ami-1"
  ssh {
    host    = "127.0.0.1"
    forward = { a = 8888, b = "8888:9999" }
  }
}`, "main.hcl:5: Invalid port forward", "both use local port 8888"},
		{`resource "aws_instance" "a" {
  ami = "ami-1"
  ssh {
    host    = "127.0.0.1"
    forward = { a = "1:-oProxyCommand=x:2" }
  }
}`, "main.hcl:5: Invalid port forward", "is not a host name"},
	} {
		_, diags := loadSrc(t, tc.src, testOpts())
		got := diagLines(diags)
		if len(got) == 0 || got[0] != tc.want || !strings.Contains(diags[0].Detail, tc.detail) {
			t.Errorf("%s\ngot %v: %s", tc.src, got, renderDiags(diags))
		}
	}
}
