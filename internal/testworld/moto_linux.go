package testworld

import "syscall"

// motoProcAttr makes the kernel kill moto when its starting thread exits.
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
