// Package command implements the mlops command line: flags are parsed into
// option structs before anything runs, every outside dependency comes in
// through Deps, and all output goes through the views.
package command

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mlops-dev/mlops/views"
)

// Version is the mlops version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Deps are the outside dependencies of a run, injected so that tests can run
// commands in-process with buffers, a fixed clock and counting clients.
type Deps struct {
	Streams *views.Streams
	// Env is the environment ("K=V").
	Env []string
	// Cwd is the working directory that -chdir is relative to.
	Cwd string
	Now func() time.Time
	// HTTPClient sends AWS API requests (nil: the SDK default).
	HTTPClient *http.Client
	// Interrupts delivers Ctrl-C; nil means none.
	Interrupts <-chan os.Signal
	// Exit ends the process at once (second Ctrl-C); nil means os.Exit.
	Exit func(code int)
	// Executable is the path of the mlops binary, for the ProxyCommand of
	// ssh aliases with wake = true; nil means os.Executable.
	Executable func() (string, error)
}

func (d Deps) exit(code int) {
	if d.Exit != nil {
		d.Exit(code)
		return
	}
	os.Exit(code)
}

// SystemDeps returns the dependencies of a real process.
func SystemDeps() Deps {
	cwd, _ := os.Getwd()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	env := os.Environ()
	return Deps{Streams: views.SystemStreams(env), Env: env, Cwd: cwd, Now: time.Now, Interrupts: sig}
}

func (d Deps) getenv(key string) string {
	for i := len(d.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(d.Env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// interruptContexts turns interrupts into two contexts: stop is cancelled
// by the first Ctrl-C (no new work starts), hard by the second (work in
// flight is abandoned).
func (d Deps) interruptContexts(onFirst, onSecond func()) (stop, hard context.Context, cancel func()) {
	stop, stopCancel := context.WithCancel(context.Background())
	hard, hardCancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if d.Interrupts != nil {
		go func() {
			n := 0
			for {
				select {
				case <-done:
					return
				case <-d.Interrupts:
					n++
					if n == 1 {
						if onFirst != nil {
							onFirst()
						}
						stopCancel()
					} else {
						hardCancel()
						if onSecond != nil {
							onSecond()
						}
						return
					}
				}
			}
		}()
	}
	return stop, hard, func() { close(done); stopCancel(); hardCancel() }
}
