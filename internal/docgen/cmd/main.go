// Command docgen regenerates docs/reference.md from the schemas.
package main

import (
	"fmt"
	"os"

	"github.com/mlops-dev/mlops/internal/docgen"
)

func main() {
	if err := os.WriteFile("docs/reference.md", []byte(docgen.Reference()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
