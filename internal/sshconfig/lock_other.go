//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sshconfig

// lockDir is a no-op where flock(2) is not available.
func lockDir(string) (func(), error) { return func() {}, nil }
