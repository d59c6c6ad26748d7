//go:build !linux

package testworld

import "syscall"

// motoProcAttr: without Pdeathsig, moto is stopped by Stop and MotoMain only.
func motoProcAttr() *syscall.SysProcAttr { return nil }
