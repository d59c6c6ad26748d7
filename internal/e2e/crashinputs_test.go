package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/plan"
)

// TestHostileInputsGiveDiagnostics runs the built binary on inputs that
// used to crash it (a fatal stack overflow, a panic, running out of
// memory) or stall it: each now ends with a diagnostic and exit 1.
func TestHostileInputsGiveDiagnostics(t *testing.T) {
	deep := strings.Repeat("(", 100_000) + "1" + strings.Repeat(")", 100_000)
	// A command-line argument or environment string holds at most 128 KiB.
	deepArg := strings.Repeat("(", 30_000) + "1" + strings.Repeat(")", 30_000)
	numberVar := "variable \"n\" {\n  type    = number\n  default = 1\n}\n"
	t.Run("nesting in a file", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": "locals {\n  x = " + deep + "\n}\n"})
		r := s.must(1, "validate")
		contains(t, r, "Error: Nesting too deep", "main.hcl:2:")
		if strings.Contains(r.stderr, "goroutine") {
			t.Fatalf("crashed:\n%.2000s", r.stderr)
		}
	})
	t.Run("nesting in a -var-file", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": numberVar + smallConfig, "deep.vars": "n = " + deep + "\n"})
		r := s.must(1, "plan", "-var-file", "deep.vars")
		contains(t, r, "Error: Nesting too deep", "deep.vars:1:")
	})
	t.Run("nesting in MLOPS_VAR_", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": numberVar + smallConfig})
		r := s.runEnv([]string{"MLOPS_VAR_n=" + deepArg}, "plan")
		if r.code != 1 {
			t.Fatalf("%.2000s", r.stderr)
		}
		containsFlat(t, r, "Expressions may nest at most 256 levels")
	})
	t.Run("nesting in -var", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": numberVar + smallConfig})
		r := s.must(1, "plan", "-var", "n="+deepArg)
		containsFlat(t, r, "Expressions may nest at most 256 levels")
	})
	t.Run("file of a device, a FIFO, a directory", func(t *testing.T) {
		for _, path := range []string{"/dev/zero", "/dev/stdin", "."} {
			s := newStack(t, map[string]string{"main.hcl": fmt.Sprintf("locals {\n  x = file(%q)\n}\n", path)})
			r := s.must(1, "validate")
			containsFlat(t, r, "main.hcl:2:", "it is not a regular file")
		}
	})
	t.Run("20k syntax errors", func(t *testing.T) {
		var src strings.Builder
		for i := 0; i < 20000; i++ {
			fmt.Fprintf(&src, "x%d = = ;\n", i)
		}
		s := newStack(t, map[string]string{"main.hcl": src.String()})
		r := s.must(1, "validate")
		if r.elapsed > 10*time.Second {
			t.Errorf("validate took %v", r.elapsed)
		}
		contains(t, r, "more errors not shown")
		if n := strings.Count(r.stderr, "Error: "); n != 50 {
			t.Errorf("%d errors shown", n)
		}
		t.Logf("20k errors rendered in %v", r.elapsed.Round(time.Millisecond))
	})
	t.Run("undecodable output in the state", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": smallConfig})
		s.must(0, "apply", "-auto-approve")
		b, _ := os.ReadFile(s.statePath())
		var raw map[string]any
		json.Unmarshal(b, &raw)
		raw["outputs"].(map[string]any)["sg"].(map[string]any)["type"] = "number"
		b, _ = json.Marshal(raw)
		os.WriteFile(s.statePath(), b, 0o600)
		r := s.must(2, "plan", "-detailed-exitcode")
		contains(t, r, "Warning: Unreadable output in the state", `output "sg"`)
		s.must(0, "apply", "-auto-approve")
		s.must(0, "plan", "-detailed-exitcode")
	})
	t.Run("saved plan whose value does not fit the schema", func(t *testing.T) {
		s := newStack(t, map[string]string{"main.hcl": smallConfig})
		s.must(0, "plan", "-out", "p.plan")
		path := filepath.Join(s.dir, "p.plan")
		b, _ := os.ReadFile(path)
		var raw map[string]any
		json.Unmarshal(b, &raw)
		// The after value of the security group becomes a plain string.
		after := raw["changes"].([]any)[0].(map[string]any)["after"].(map[string]any)
		after["type"] = json.RawMessage(`"string"`)
		after["msgpack"] = []byte{0xa1, 'x'} // msgpack "x"
		b, _ = json.Marshal(raw)
		// With its digest recomputed, the edit reaches the schema check.
		b, err := plan.Reseal(b)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, b, 0o600)
		for _, args := range [][]string{{"show", "p.plan"}, {"apply", "p.plan"}} {
			r := s.must(1, args...)
			contains(t, r, "Invalid saved plan", "does not fit the schema of aws_security_group")
		}
		if live := s.securityGroupsNamed("web"); live != 0 {
			t.Errorf("a refused plan created %d groups", live)
		}
	})
}
