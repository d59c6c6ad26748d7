package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/plan"
	"github.com/zclconf/go-cty/cty"
)

// savedPlanConfig reads a file with file(), so that the plan is made from
// main.hcl, motd.txt and the variable's default.
const savedPlanConfig = smallConfig + `
output "motd" { value = file("motd.txt") }
`

// TestSavedPlanRefusedWhenInputsMove: a saved plan names every input that
// moved after plan -out (a .hcl file changed or added, a file() input, the
// lock file, a variable's source) and changes nothing; with the inputs
// restored it applies.
func TestSavedPlanRefusedWhenInputsMove(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": savedPlanConfig, "motd.txt": "hello\n"})
	planPath := filepath.Join(s.dir, "p.plan")
	// An existing, world-readable file is replaced by a 0600 one.
	if err := os.WriteFile(planPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(0, "plan", "-out", "p.plan")
	if fi, err := os.Stat(planPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("plan file mode: %v %v", fi.Mode(), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(s.dir, ".p.plan.tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(want string) {
		t.Helper()
		r := s.must(1, "apply", "p.plan")
		contains(t, r, "Saved plan is stale", want)
		if n := s.securityGroupsNamed("web"); n != 0 {
			t.Fatalf("a refused plan created %d groups", n)
		}
	}

	write("main.hcl", savedPlanConfig+`output "extra" { value = "x" }`+"\n")
	refused("main.hcl changed since the plan was made")
	write("main.hcl", savedPlanConfig)

	write("motd.txt", "HELLO\n")
	refused("motd.txt (read by file()) changed")
	write("motd.txt", "hello\n")

	write("more.hcl", `output "more" { value = 1 }`)
	refused("more.hcl was added since the plan was made")
	os.Remove(filepath.Join(s.dir, "more.hcl"))

	write("mlops.lock.hcl", "# lock\n")
	refused("the lock file mlops.lock.hcl was created")
	os.Remove(filepath.Join(s.dir, "mlops.lock.hcl"))

	s.must(0, "apply", "p.plan")
	if n := s.securityGroupsNamed("web"); n != 1 {
		t.Fatalf("applying the plan made %d groups", n)
	}
}

// TestSavedPlanTamperedIsRefused: edits to a plan file are refused, first
// by its content digest, and when the digest is recomputed, by comparing
// the plan with what its inputs give now, naming the variable or output.
func TestSavedPlanTamperedIsRefused(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": savedPlanConfig, "motd.txt": "hello\n"})
	s.must(0, "plan", "-out", "p.plan")
	path := filepath.Join(s.dir, "p.plan")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A plain edit: the digest no longer matches.
	edited := strings.Replace(string(orig), `"lineage": "`, `"lineage": "x`, 1)
	if edited == string(orig) {
		t.Fatal("no lineage in the plan file")
	}
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.must(1, "apply", "p.plan")
	contains(t, r, "Invalid saved plan", "modified after mlops wrote it")

	// Edits with the digest recomputed (by the plan package's own encoder).
	for name, tc := range map[string]struct {
		edit func(p *plan.Plan)
		want string
	}{
		"variable": {func(p *plan.Plan) { p.Variables["port"] = cty.NumberIntVal(2222) }, `variable "port": the saved plan holds another value than default gives now`},
		"output": {func(p *plan.Plan) {
			for _, o := range p.Outputs {
				if o.Name == "motd" {
					o.After = cty.StringVal("evil\n")
				}
			}
		}, `output "motd" differs from the saved plan`},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := plan.Unmarshal(orig)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(p)
			b, err := plan.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			r := s.must(1, "apply", "p.plan")
			contains(t, r, "Saved plan is stale", tc.want)
			if n := s.securityGroupsNamed("web"); n != 0 {
				t.Fatalf("a tampered plan created %d groups", n)
			}
		})
	}
}

// TestSavedPlanEnvironmentVariableMoved: a value that came from
// MLOPS_VAR_NAME at plan and is set to another value at apply is named.
func TestSavedPlanEnvironmentVariableMoved(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": savedPlanConfig, "motd.txt": "hello\n"})
	r := s.runEnv([]string{"MLOPS_VAR_port=2222"}, "plan", "-out", "p.plan")
	if r.code != 0 {
		t.Fatal(r)
	}
	r = s.runEnv([]string{"MLOPS_VAR_port=8080"}, "apply", "p.plan")
	if r.code != 1 {
		t.Fatal(r)
	}
	contains(t, r, `variable "port": the saved plan holds another value than environment gives now`)
	// Without the variable in the environment, the plan's value is used.
	s.must(0, "apply", "p.plan")
	r = s.must(0, "state", "show", "aws_security_group.web")
	contains(t, r, "2222")
}
