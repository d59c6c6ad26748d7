package state

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// lockChildEnv makes the test binary act as a lock holder: see
// runLockChild and TestLocalLockReleasedWhenHolderKilled.
const lockChildEnv = "MLOPS_STATE_TEST_LOCK_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockChildEnv); path != "" {
		runLockChild(path)
		return
	}
	// The S3 tests share one moto server, started by the first of them.
	os.Exit(testworld.MotoMain(m))
}

// runLockChild takes the lock on the state at path, says so on stdout and
// then waits to be killed.
func runLockChild(path string) {
	_, err := NewLocal(path).Lock(context.Background(), LockInfo{
		ID: "child-lock-id", Operation: "apply", Who: "child@test", Version: "test",
		Created: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Hour)
	os.Exit(2)
}
