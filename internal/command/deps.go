// Package command implements the mlops command line: flags are parsed into
// option structs before anything runs, every outside dependency comes in
// through Deps, and all output goes through the views. Each command has its
// own file (validate.go, fmt.go, output.go, show.go, statecmd.go, ...);
// plan, apply and destroy share operate.go, one method per step.
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

	// intr is the run's interrupt handling, built by Main.
	intr *interrupts
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

// ctx is the run's context: cancelled by the first Ctrl-C or SIGTERM (see
// interrupts). Without Main (a test calling a command directly) it never ends.
func (d Deps) ctx() context.Context {
	if d.intr == nil {
		return context.Background()
	}
	return d.intr.stop
}

// hardCtx is cancelled when work in flight must be abandoned.
func (d Deps) hardCtx() context.Context {
	if d.intr == nil {
		return context.Background()
	}
	return d.intr.hard
}

// guardUnlock registers unlock to run on a forced exit and returns the
// function to call instead of it (it runs unlock at most once).
func (d Deps) guardUnlock(unlock func() error) func() error {
	if d.intr == nil {
		return unlock
	}
	return d.intr.atExit(unlock)
}
