// Package atomicfile replaces files so that a reader, a crash or a full
// disk sees the old file or the new one, never half of each.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data the way editors do: a temporary file beside
// it, with mode perm from the start (a secret is never readable by others,
// not even for a moment), synced, renamed over path, then the directory
// synced so the rename is durable (best effort). A symbolic link is
// followed: its target is replaced and the link stays.
func Write(path string, data []byte, perm os.FileMode) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
