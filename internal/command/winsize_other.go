//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package command

import "github.com/mlops-dev/mlops/providers/host"

// watchWindowSize: no SIGWINCH here; the size stays as it was at the start.
func watchWindowSize(int) (<-chan host.WindowSize, func()) { return nil, func() {} }
