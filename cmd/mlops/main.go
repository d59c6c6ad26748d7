// Command mlops describes an ML development machine in the cloud in HCL and
// makes it real: mlops plan, mlops apply, mlops destroy.
package main

import (
	"os"

	"github.com/mlops-dev/mlops/internal/command"
)

func main() {
	os.Exit(command.Main(os.Args[1:], command.SystemDeps()))
}
