package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// The tests in this file cover what a machine costs: the prices in the
// plan and the budget guard.

// pricedConfig is one instance without ssh: its type comes from a variable.
const pricedConfig = `
provider "aws" { region = "eu-west-1" }

variable "instance_type" { default = "t3.micro" }

resource "aws_instance" "box" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = var.instance_type
  disk_gb       = 20
}
`

// TestPlanShowsBothPricesOfATypeChange: after an apply with t3.micro, a plan
// that changes the type to g4dn.xlarge shows the table's price of each,
// and -json carries the numbers.
func TestPlanShowsBothPricesOfATypeChange(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": pricedConfig})
	s.must(0, "apply", "-auto-approve")
	r := s.must(0, "plan", "-var", "instance_type=g4dn.xlarge")
	contains(t, r,
		"Cost estimate in eu-west-1 (AWS on-demand prices of 2024-06-01",
		"aws_instance.box (t3.micro $0.0114/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h -> g4dn.xlarge $0.5870/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h)",
		// 0.0114 + 1.76/730 + 0.005 -> 0.587 + 1.76/730 + 0.005
		"$/h while running:      $0.0188 -> $0.5944",
		"$/month while stopped:  $1.76",
	)
	var doc struct {
		Costs struct {
			Total struct {
				Before float64 `json:"hourly_while_running_before"`
				After  float64 `json:"hourly_while_running_after"`
			} `json:"total"`
		} `json:"costs"`
	}
	js := s.must(0, "plan", "-json", "-var", "instance_type=g4dn.xlarge").stdout
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Costs.Total.Before != 0.018811 || doc.Costs.Total.After != 0.594411 {
		t.Errorf("JSON totals: %+v", doc.Costs.Total)
	}
	// A type the table does not know is "price unknown", never an error.
	r = s.must(0, "plan", "-var", "instance_type=x9.mega")
	contains(t, r, "# price unknown for x9.mega in eu-west-1")
}

// TestBudgetRefusesOffline: max_hourly below the price of t2.xlarge is
// refused with the file and line of max_hourly, before any API call.
func TestBudgetRefusesOffline(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": pricedConfig + `
mlops {
  budget {
    max_hourly = 0.10
  }
}
`})
	p := testworld.StartFaultProxy(t, s.moto.Endpoint())
	env := []string{"AWS_ENDPOINT_URL=" + p.URL()}
	for _, op := range []string{"plan", "apply"} {
		r := s.runEnv(env, op, "-auto-approve", "-var", "instance_type=t2.xlarge")
		if op == "plan" {
			r = s.runEnv(env, op, "-var", "instance_type=t2.xlarge")
		}
		if r.code != 1 {
			t.Fatalf("%s over budget: %s", op, r)
		}
		contains(t, r, "Error: Over budget", "main.hcl:14", "max_hourly = 0.10",
			"aws_instance.box (t2.xlarge $0.2016/h, 20 GiB gp3 $1.76/month, public IPv4 $0.0050/h): $0.2090/h")
	}
	if n := len(p.Log()); n != 0 {
		t.Errorf("%d API calls before the budget refused the plan, want none", n)
	}
	// Within the budget, the plan goes ahead.
	r := s.runEnv(env, "plan")
	if r.code != 0 || !strings.Contains(r.stdout, "Total: $0 -> $0.0188/h") {
		t.Errorf("a plan within the budget: %s", r)
	}
}
