package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mlops-dev/mlops/views"
)

// termGrace is how long a run may take to unwind after SIGTERM (abandon
// the work in flight, save the state, release the lock) before it exits
// anyway: process managers (timeout, systemd, CI runners, docker stop)
// send SIGTERM and expect the process gone within seconds.
const termGrace = 1500 * time.Millisecond

// cleanupBudget bounds each cleanup (a lock release) on a forced exit, so
// that a lock server that no longer answers cannot keep the process alive.
const cleanupBudget = 400 * time.Millisecond

// interrupts turns SIGINT and SIGTERM into the cancellation of one run. It
// is built once in Main and every command and every wait uses its
// contexts:
//
//   - stop is cancelled by the first signal: nothing new starts; loading,
//     locking, reading, refreshing, probing and the approval prompt end.
//   - hard is cancelled by the second Ctrl-C or by SIGTERM, and for every
//     command but apply and destroy also by the first Ctrl-C: work in
//     flight is abandoned.
//
// A second Ctrl-C exits at once after the cleanups (lock releases); SIGTERM
// gives the run termGrace to unwind and then exits the same way.
type interrupts struct {
	stop, hard             context.Context
	cancelStop, cancelHard context.CancelFunc
	errw                   io.Writer
	exit                   func(int)

	mu       sync.Mutex
	twoStage bool   // apply and destroy: the first Ctrl-C lets work in flight finish
	onFirst  string // the message of the first Ctrl-C in two-stage mode
	code     int    // exit code of a forced exit
	cleanups []*cleanup
	exiting  bool
	done     chan struct{}
}

type cleanup struct {
	once sync.Once
	fn   func() error
	err  error
}

func (c *cleanup) run() error {
	c.once.Do(func() { c.err = c.fn() })
	return c.err
}

// newInterrupts starts listening on sig (nil: no signals, as in tests run
// in-process).
func newInterrupts(sig <-chan os.Signal, errw io.Writer, exit func(int)) *interrupts {
	in := &interrupts{errw: errw, exit: exit, code: 1, done: make(chan struct{})}
	in.stop, in.cancelStop = context.WithCancel(context.Background())
	in.hard, in.cancelHard = context.WithCancel(context.Background())
	if sig != nil {
		go in.listen(sig)
	}
	return in
}

// close stops listening and releases the contexts.
func (in *interrupts) close() {
	in.mu.Lock()
	select {
	case <-in.done:
	default:
		close(in.done)
	}
	in.mu.Unlock()
	in.cancelStop()
	in.cancelHard()
}

// twoStageMode makes the first Ctrl-C cancel only stop, printing msg.
func (in *interrupts) twoStageMode(msg string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.twoStage, in.onFirst = true, msg
}

// exitCode sets the exit code of a forced exit (mlops ssh: 255).
func (in *interrupts) exitCode(code int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.code = code
}

// atExit registers fn (a lock release) to run on a forced exit; the
// returned function runs it at most once, whoever calls first, and returns
// its error.
func (in *interrupts) atExit(fn func() error) func() error {
	c := &cleanup{fn: fn}
	in.mu.Lock()
	in.cleanups = append(in.cleanups, c)
	in.mu.Unlock()
	return c.run
}

func (in *interrupts) listen(sig <-chan os.Signal) {
	n := 0
	for {
		select {
		case <-in.done:
			return
		case s := <-sig:
			n++
			in.mu.Lock()
			twoStage, msg := in.twoStage, in.onFirst
			in.mu.Unlock()
			switch {
			case s == syscall.SIGTERM:
				views.RenderNote(in.errw, "\nTerminated: stopping now; work in flight is abandoned, what finished is saved and the lock released.")
				in.cancelStop()
				in.cancelHard()
				go func() {
					select {
					case <-in.done:
					case <-time.After(termGrace):
						in.forceExit()
					}
				}()
			case n == 1:
				if twoStage {
					views.RenderNote(in.errw, msg)
				} else {
					in.cancelHard()
				}
				in.cancelStop()
			default:
				views.RenderNote(in.errw, "\nTwo interrupts received: exiting at once.")
				in.cancelStop()
				in.cancelHard()
				in.forceExit()
				return
			}
		}
	}
}

// forceExit runs the cleanups, each within cleanupBudget, and exits.
func (in *interrupts) forceExit() {
	in.mu.Lock()
	select {
	case <-in.done:
		// The run ended by itself meanwhile: Main returns its own code.
		in.mu.Unlock()
		return
	default:
	}
	if in.exiting {
		in.mu.Unlock()
		return
	}
	in.exiting = true
	cleanups := append([]*cleanup{}, in.cleanups...)
	code := in.code
	in.mu.Unlock()
	for _, c := range cleanups {
		finished := make(chan error, 1)
		go func() { finished <- c.run() }()
		select {
		case err := <-finished:
			if err != nil {
				views.RenderUnlockAtExit(in.errw, err)
			}
		case <-time.After(cleanupBudget):
			views.RenderUnlockAtExit(in.errw, nil)
		}
	}
	in.exit(code)
}

// reportUnlockError says that the state lock could not be released, and
// how to remove it, instead of dropping the error.
func reportUnlockError(d Deps, jsonOut bool, err error) {
	renderError(d, jsonOut, "Error releasing the state lock",
		fmt.Errorf("%v; the lock may remain: once no other run is using the state, mlops force-unlock LOCK_ID removes it (the lock ID is in the error the next run prints)", err))
}

// releaseLock runs unlock (deferred by a command) and turns a failure into
// a reported error and exit code 1.
func releaseLock(d Deps, jsonOut bool, unlock func() error, code *int) {
	if err := unlock(); err != nil {
		reportUnlockError(d, jsonOut, err)
		*code = 1
	}
}
