package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// TestSlowCondaStartsSlowly installs the peers scenario's stand-in Anaconda
// (testworld's, with conda's start-up cost added) and times its conda: a
// change to the stand-in that slowConda cannot follow fails here, not half
// way through an hour of bench.
func TestSlowCondaStartsSlowly(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the stand-in conda needs python3")
	}
	dl := testworld.StartDownloads(t)
	slow, err := slowConda(dl.Content(testworld.DownloadAnaconda))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	installer := filepath.Join(dir, "installer.sh")
	if err := os.WriteFile(installer, slow, 0o755); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "anaconda3")
	if out, err := exec.Command("bash", installer, "-b", "-p", prefix).CombinedOutput(); err != nil {
		t.Fatalf("installer: %v\n%s", err, out)
	}
	start := time.Now()
	out, err := exec.Command(filepath.Join(prefix, "bin", "conda"), "--version").CombinedOutput()
	took := time.Since(start)
	if err != nil || strings.TrimSpace(string(out)) != "conda 4.12.0" {
		t.Fatalf("conda --version: %v %q", err, out)
	}
	if took < 500*time.Millisecond {
		t.Errorf("conda --version took %v, want at least %s s", took, condaStartup)
	}
}
