package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/views"
	"golang.org/x/term"
)

// liveRedraw is how often the terminal view redraws its live lines.
const liveRedraw = 100 * time.Millisecond

// liveView returns the terminal view for apply and destroy when stdout is
// a terminal, or nil for the streaming view: with -verbose or -json, when
// stdout is not a terminal (CI, pipes, files) and with TERM=dumb, every line
// goes to stdout as it comes. Messages of the SSH transport then go through
// the view too, so that they do not land inside its live lines, and the
// process's stderr is wrapped for the same reason.
func liveView(d Deps, l *loaded, op string, o *opFlags) *views.LiveHooks {
	if op == "plan" || o.json || o.verbose || !d.Streams.OutTTY || d.getenv("TERM") == "dumb" {
		return nil
	}
	v := views.NewLiveHooks(views.LiveOptions{
		Out:     d.Streams.Out,
		Color:   d.Streams.Color,
		Now:     d.Now,
		Size:    terminalSize(d.Streams.Out),
		Redraw:  liveRedraw,
		OpenLog: func() (io.WriteCloser, string, error) { return openRunLog(d, l.dir, op) },
	})
	l.world.note = v.Note
	// What else is written to stderr meanwhile (the interrupt notice) must
	// not land inside the live lines either.
	d.Streams.Err = v.Above(d.Streams.Err)
	return v
}

// terminalSize asks the terminal behind w for its size at every call, so
// that a resized window is followed; nil when w is not a file.
func terminalSize(w io.Writer) func() (int, int) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	return func() (int, int) {
		cols, rows, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0, 0
		}
		return cols, rows
	}
}

// openRunLog creates .mlops/logs/<UTC time>-<op>.log beside the
// configuration: mode 0600 in a 0700 directory, since remote output can
// hold anything the layers print. The name shown is relative to the
// working directory when the file is below it.
func openRunLog(d Deps, dir, op string) (io.WriteCloser, string, error) {
	logs := filepath.Join(dir, ".mlops", "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return nil, "", err
	}
	stamp := d.Now().UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		name := fmt.Sprintf("%s-%s.log", stamp, op)
		if i > 1 {
			// Two runs in one second (-lock=false): keep both.
			name = fmt.Sprintf("%s-%d-%s.log", stamp, i, op)
		}
		path := filepath.Join(logs, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		shown := path
		if rel, err := filepath.Rel(d.Cwd, path); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		return f, shown, nil
	}
}
