package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/state"
)

// smallConfig is one security group: fast to apply, enough to exercise the
// state and plan machinery.
const smallConfig = `
variable "port" { default = 22 }
provider "aws" { region = "eu-west-1" }
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    port        = var.port
    cidr_blocks = ["0.0.0.0/0"]
  }
  lifecycle { prevent_destroy = false }
}
output "sg" { value = aws_security_group.web.id }
`

func TestSavedPlanAppliesExactlyAndGoesStale(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	s.must(0, "plan", "-out", "first.plan")
	// Show the saved plan without touching anything.
	r := s.must(0, "show", "first.plan")
	contains(t, r, "aws_security_group.web will be created")
	r = s.must(0, "apply", "first.plan") // no approval needed for a saved plan
	contains(t, r, "Apply complete! Resources: 1 added")

	// A plan made against serial N is refused once the state moved on.
	s.must(0, "plan", "-var", "port=2222", "-out", "second.plan")
	s.must(0, "apply", "-auto-approve", "-var", "port=8080")
	r = s.must(1, "apply", "second.plan")
	contains(t, r, "Saved plan is stale")
	// The state still says 8080: the stale plan changed nothing.
	r = s.must(0, "state", "show", "aws_security_group.web")
	contains(t, r, "8080")
}

func TestNoTerminalRefusesWithoutApproval(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	r := s.must(1, "apply")
	contains(t, r, "no terminal to ask for approval")
	if groups := s.securityGroupsNamed("web"); groups != 0 {
		t.Fatalf("apply without approval created %d groups", groups)
	}
	s.must(0, "apply", "-auto-approve")
	r = s.must(1, "destroy")
	contains(t, r, "no terminal to ask for approval")
	if groups := s.securityGroupsNamed("web"); groups != 1 {
		t.Fatalf("destroy without approval left %d groups", groups)
	}
}

func TestPreventDestroy(t *testing.T) {
	cfg := strings.Replace(smallConfig, "prevent_destroy = false", "prevent_destroy = true", 1)
	s := newStack(t, map[string]string{"main.hcl": cfg})
	s.must(0, "apply", "-auto-approve")
	r := s.must(1, "destroy", "-auto-approve")
	contains(t, r, "Instance cannot be destroyed", "main.hcl:4:")
	if s.securityGroupsNamed("web") != 1 {
		t.Fatal("prevent_destroy did not prevent the destroy")
	}
}

func TestCorruptAndNewerStateRefusedAndKept(t *testing.T) {
	for name, content := range map[string]string{
		"corrupt": `{"version": 1, "serial": 3, "lineage": "x", "resources": [`,
		"newer":   `{"version": 99, "serial": 3, "lineage": "x", "resources": []}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, map[string]string{"main.hcl": smallConfig})
			os.MkdirAll(filepath.Dir(s.statePath()), 0o700)
			os.WriteFile(s.statePath(), []byte(content), 0o600)
			r := s.must(1, "apply", "-auto-approve")
			contains(t, r, "state")
			got, _ := os.ReadFile(s.statePath())
			if string(got) != content {
				t.Fatalf("state file was modified")
			}
			if s.securityGroupsNamed("web") != 0 {
				t.Fatal("apply went ahead with an unreadable state")
			}
		})
	}
}

// TestLockRefusesSecondRun holds the state lock from this test process (the
// lock is an OS file lock, so another process is refused) and checks that
// mlops says who holds it.
func TestLockRefusesSecondRun(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	s.must(0, "apply", "-auto-approve")
	store := state.NewLocal(s.statePath())
	unlock, err := store.Lock(context.Background(), state.LockInfo{Operation: "apply", Who: "alice@laptop"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.must(1, "plan")
	contains(t, r, "alice@laptop", "apply")
	unlock()
	s.must(0, "plan")
}

func TestJSONPlan(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": smallConfig})
	r := s.must(0, "plan", "-json")
	var doc struct {
		Summary struct {
			Add int `json:"add"`
		} `json:"summary"`
		Changes []struct {
			Address      string   `json:"address"`
			Action       string   `json:"action"`
			AfterUnknown []string `json:"after_unknown"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan -json is not one JSON document: %v\n%s", err, r.stdout)
	}
	if doc.Summary.Add != 1 || len(doc.Changes) != 1 || doc.Changes[0].Action != "create" || doc.Changes[0].Address != "aws_security_group.web" {
		t.Fatalf("unexpected plan: %+v", doc)
	}
	if !strings.Contains(strings.Join(doc.Changes[0].AfterUnknown, ","), "id") {
		t.Errorf("id not listed as unknown: %v", doc.Changes[0].AfterUnknown)
	}
	// apply -json: one object per line.
	r = s.must(0, "apply", "-auto-approve", "-json")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("apply -json line is not JSON: %q", line)
		}
	}
	contains(t, r, `"type":"apply_complete"`, `"type":"change_summary"`)
}

// TestInterruptSavesState sends SIGINT to an apply in flight: it must exit
// non-zero, keep what was created in the state, and a second apply finishes
// the job without duplicates.
func TestInterruptSavesState(t *testing.T) {
	cfg := smallConfig + `
resource "aws_security_group" "second" {
  name       = "second"
  depends_on = [aws_security_group.web]
}
resource "aws_security_group" "third" {
  name       = "third"
  depends_on = [aws_security_group.second]
}
`
	s := newStack(t, map[string]string{"main.hcl": cfg})
	// Slow every API call down so the interrupt lands mid-apply.
	proxy := slowProxy(t, s.endpoint(), 300*time.Millisecond)
	cmd := exec.Command(binary, "apply", "-auto-approve")
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), "AWS_ENDPOINT_URL="+proxy)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "aws_security_group.web: Creation complete") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("interrupted apply exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Interrupt") {
		t.Errorf("no interrupt message:\n%s", out.String())
	}
	st, err := state.NewLocal(s.statePath()).Read(context.Background())
	if err != nil || st == nil || st.Resource("aws_security_group.web") == nil {
		t.Fatalf("state after interrupt lacks the created group: %v", err)
	}
	s.must(0, "apply", "-auto-approve")
	for _, n := range []string{"web", "second", "third"} {
		if got := s.securityGroupsNamed(n); got != 1 {
			t.Errorf("%d groups named %s after resuming, want 1", got, n)
		}
	}
}
