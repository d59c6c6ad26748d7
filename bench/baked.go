package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// bakedHosts starts n sandbox hosts whose root filesystem already has the
// apt layer's packages and docker.io, for the no-op and drift scenarios:
// one scratch host installs them from the loopback repository, its whole
// root is copied, and the n hosts start on overlays of that copy (testworld
// takes its rootfs from MLOPS_CACHE_DIR, which points at the copy while
// they start). Converging 50 hosts would otherwise be 50 installs of
// docker.io on this machine's CPUs before anything is timed. Every tool
// still checks every step on every host in each timed run, and mlops
// converges the rest (Anaconda, docker-compose, the file) untimed.
func bakedHosts(w *world, m *aptMirror, n int) ([]*testworld.Host, func(), error) {
	start := time.Now()
	scratch, stop, err := testworld.StartHostsForDemo(1, nil)
	if err != nil {
		return nil, func() {}, fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	defer stop()
	w.stops = append(w.stops, stop) // also on a signal (stop runs once)
	h := scratch[0]
	if err := prepareHost(h, m); err != nil {
		return nil, func() {}, err
	}
	if _, err := h.Shell(`set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -qq -y git make wget docker.io >/dev/null`); err != nil {
		return nil, func() {}, fmt.Errorf("installing the packages on the scratch host: %v", err)
	}
	cache := filepath.Join(w.tmp, "baked")
	rootfs := filepath.Join(cache, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, func() {}, err
	}
	if out, err := exec.Command("cp", "-a", "--one-file-system", h.Root+"/.", rootfs+"/").CombinedOutput(); err != nil {
		return nil, func() {}, fmt.Errorf("copying the scratch host's root: %v: %s", err, out)
	}
	// The scratch host's Docker daemon left its state behind. In the
	// lower layer of a host's overlay, dockerd cannot start: it renames
	// /var/lib/docker/runtimes at start, and overlayfs refuses to rename a
	// lower directory (EXDEV). A fresh machine has none anyway.
	if err := os.RemoveAll(filepath.Join(rootfs, "var", "lib", "docker")); err != nil {
		return nil, func() {}, err
	}
	if _, err := os.Stat(filepath.Join(rootfs, ".mlops-rootfs-ok")); err != nil {
		return nil, func() {}, fmt.Errorf("the copied root has no rootfs marker: %v", err)
	}
	w.logf("peers: a rootfs with the packages installed, built in %v", time.Since(start).Round(time.Second))
	old, had := os.LookupEnv("MLOPS_CACHE_DIR")
	os.Setenv("MLOPS_CACHE_DIR", cache)
	hosts, stopHosts, err := testworld.StartHostsForDemo(n, w.logf)
	if had {
		os.Setenv("MLOPS_CACHE_DIR", old)
	} else {
		os.Unsetenv("MLOPS_CACHE_DIR")
	}
	if err != nil {
		return nil, func() {}, fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	return hosts, stopHosts, nil
}
