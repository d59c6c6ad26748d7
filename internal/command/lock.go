package command

import (
	"bytes"

	"github.com/mlops-dev/mlops/lockfile"
)

// writeLock stores next as the lock file when it differs from old (the lock
// as read), so that a run that resolves nothing new leaves the file, and its
// modification time, alone. A lock with nothing in it is not written. It
// reports the error and returns false when the file cannot be written.
func writeLock(d Deps, jsonOut bool, dir string, old, next *lockfile.Lock) bool {
	if next == nil || next.Empty() && old.Empty() {
		return true
	}
	if old != nil && bytes.Equal(old.Bytes(), next.Bytes()) {
		return true
	}
	if err := lockfile.Write(dir, next); err != nil {
		renderError(d, jsonOut, "Failed to write the lock file", err)
		return false
	}
	return true
}
