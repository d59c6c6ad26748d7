package e2e

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/testworld"
)

var update = flag.Bool("update", false, "rewrite the golden files of the examples")

// TestExamplesGolden pins the plan output (text and JSON) of every example
// against an empty account: examples/NAME/testdata/plan.txt and plan.json.
// Regenerate with: go test ./internal/e2e -run Golden -update
func TestExamplesGolden(t *testing.T) {
	root, err := testworld.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "examples", "*"))
	if len(dirs) == 0 {
		t.Fatal("no examples found")
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			files := map[string]string{}
			hcls, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
			for _, f := range hcls {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				files[filepath.Base(f)] = string(b)
			}
			s := newStack(t, files)
			// A new host gets all its layers without being contacted; the
			// address still must be loopback in tests.
			s.env = append(s.env, "MLOPS_VAR_ssh_host=127.0.0.1")
			text := s.must(0, "plan").stdout
			js := s.must(0, "plan", "-json").stdout
			var doc map[string]any
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatal(err)
			}
			delete(doc, "lineage") // random per stack
			pretty, _ := json.MarshalIndent(doc, "", "  ")
			golden(t, filepath.Join(dir, "testdata", "plan.txt"), text)
			golden(t, filepath.Join(dir, "testdata", "plan.json"), string(pretty)+"\n")
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +got); if the change is intended, run with -update:\n%s", path, d)
	}
}
