//go:build linux

package testworld

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

func platformSupported() error { return nil }

func mountOverlay(lower, upper, work, merged string) error {
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay on %s (%s): %w", merged, opts, err)
	}
	return nil
}

// unmount unmounts path, retrying while it is busy and detaching it lazily
// as a last resort. A path that is not a mount point is not an error.
func unmount(path string) error {
	var err error
	for range 20 {
		err = syscall.Unmount(path, 0)
		if err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return syscall.Unmount(path, syscall.MNT_DETACH)
}

// childProcAttr kills unshare (and with --kill-child its sshd) if the test
// process dies without cleaning up.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func killPID(pid int) { syscall.Kill(pid, syscall.SIGKILL) }

func fileOwner(fi fs.FileInfo) (uid, gid int, err error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no owner information", fi.Name())
	}
	return int(st.Uid), int(st.Gid), nil
}
