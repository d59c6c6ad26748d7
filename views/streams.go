// Package views renders everything mlops shows: plans, apply progress,
// diagnostics and outputs, as human text or as JSON. Commands and the
// engine never print; they hand data and events to a view.
package views

import (
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Streams are the standard streams of a command, injected so tests can use
// buffers and pretend to be (or not be) a terminal.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// InTTY and OutTTY say whether stdin/stdout are terminals.
	InTTY  bool
	OutTTY bool
	// Color enables ANSI colour (only on a terminal, never with NO_COLOR).
	Color bool
	// Width is the terminal width for wrapping diagnostics (0 = 78).
	Width int
}

// SystemStreams returns the process's streams with terminal detection.
func SystemStreams(env []string) *Streams {
	inTTY := isTerminal(os.Stdin)
	outTTY := isTerminal(os.Stdout)
	noColor := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "NO_COLOR=") {
			noColor = true
		}
	}
	return &Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, InTTY: inTTY, OutTTY: outTTY, Color: outTTY && !noColor, Width: 100}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// color wraps s in an ANSI colour when enabled.
func (s *Streams) color(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

const (
	green  = "32"
	yellow = "33"
	red    = "31"
	bold   = "1"
	cyan   = "36"
)

// Colorize wraps text in the ANSI code when colour is enabled.
func (s *Streams) Colorize(code, text string) string { return s.color(code, text) }
