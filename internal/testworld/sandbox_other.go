//go:build !linux

package testworld

import (
	"errors"
	"io/fs"
	"syscall"
)

var errNotLinux = errors.New("sandbox hosts need Linux (overlayfs, namespaces)")

func platformSupported() error                             { return errNotLinux }
func mountOverlay(lower, upper, work, merged string) error { return errNotLinux }
func unmount(path string) error                            { return errNotLinux }
func childProcAttr() *syscall.SysProcAttr                  { return nil }
func killPID(pid int)                                      {}
func fileOwner(fi fs.FileInfo) (uid, gid int, err error)   { return 0, 0, errNotLinux }
