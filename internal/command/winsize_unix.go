//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/mlops-dev/mlops/providers/host"
	"golang.org/x/term"
)

// watchWindowSize delivers the terminal's new size on every SIGWINCH until
// stop is called.
func watchWindowSize(fd int) (<-chan host.WindowSize, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	out := make(chan host.WindowSize, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sig:
				if w, h, err := term.GetSize(fd); err == nil {
					select {
					case <-out: // only the newest size matters
					default:
					}
					out <- host.WindowSize{Width: w, Height: h}
				}
			}
		}
	}()
	return out, func() { signal.Stop(sig); close(done) }
}
