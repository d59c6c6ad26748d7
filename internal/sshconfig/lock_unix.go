//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sshconfig

import (
	"errors"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock(2) on the directory dir (~/.ssh),
// waiting for it, so that two mlops runs (of different stacks) do not
// interleave their read-modify-write of the files; locking the directory
// leaves no lock file behind. The kernel drops the lock if the process
// dies.
func lockDir(path string) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
