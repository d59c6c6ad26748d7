package host

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// ExecRequest is a user's own command or login shell on the host (mlops
// ssh). Unlike the layer scripts, whose command line is always `bash -s`,
// Command is handed to the remote user's shell as it is, as ssh does.
type ExecRequest struct {
	// Command is run by the remote shell; "" starts a login shell.
	Command string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// PTY requests a terminal; nil runs without one (output is then not
	// mangled by a terminal, as for ssh without -t).
	PTY *PTY
	// Resize delivers new terminal sizes while the session runs (PTY only).
	Resize <-chan WindowSize
}

// PTY is the terminal requested for a session.
type PTY struct {
	Term string // $TERM, e.g. "xterm-256color"
	WindowSize
}

// WindowSize is a terminal's size in characters.
type WindowSize struct {
	Width, Height int
}

// Exec runs req on a new session of the connection and returns the remote
// exit status. A command killed by a signal is reported as exit status 255
// with an error naming the signal, as ssh does; a lost connection is an
// error. Cancelling ctx ends the session.
func (c *Conn) Exec(ctx context.Context, req ExecRequest) (int, error) {
	sess, err := c.newSession()
	if err != nil {
		return -1, err
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = req.Stdin, req.Stdout, req.Stderr
	if req.PTY != nil {
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty(req.PTY.Term, req.PTY.Height, req.PTY.Width, modes); err != nil {
			return -1, fmt.Errorf("ssh %s: terminal refused: %w", c.addr, err)
		}
		if req.Resize != nil {
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					select {
					case <-done:
						return
					case ws := <-req.Resize:
						sess.WindowChange(ws.Height, ws.Width)
					}
				}
			}()
		}
	}
	stop := context.AfterFunc(ctx, func() { cancelSession(sess) })
	defer stop()
	if req.Command == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(req.Command)
	}
	if err != nil {
		return -1, c.transportError(ctx, err)
	}
	err = sess.Wait()
	var exit *ssh.ExitError
	if errors.As(err, &exit) && exit.Signal() != "" {
		return 255, fmt.Errorf("ssh %s: remote command killed by signal %s", c.addr, exit.Signal())
	}
	return c.exitStatus(ctx, err)
}
