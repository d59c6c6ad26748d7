//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package state

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("local state locking needs flock(2), which this operating system lacks; use the s3 backend")

func tryFlock(f *os.File) (bool, error) { return false, errNoFlock }

func funlock(f *os.File) error { return errNoFlock }
