package docgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReferenceUpToDate fails when docs/reference.md no longer matches the
// schemas; regenerate it with `go run ./internal/docgen/cmd`.
func TestReferenceUpToDate(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), Reference()); d != "" {
		t.Fatalf("docs/reference.md is stale; run go run ./internal/docgen/cmd (-file +schemas):\n%s", d)
	}
}
