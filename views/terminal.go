package views

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
)

// LiveOptions are the outside dependencies of a LiveHooks, injected so that
// tests can drive it with a fixed clock and read its frames from a buffer.
type LiveOptions struct {
	// Out is the terminal.
	Out io.Writer
	// Color enables ANSI colours (never with NO_COLOR). The live lines are
	// redrawn with cursor movement whether or not colour is on.
	Color bool
	// Now is the clock.
	Now func() time.Time
	// Size returns the terminal's columns and rows; nil, or zero values,
	// mean 80 by 24.
	Size func() (cols, rows int)
	// Redraw is how often the live lines are redrawn (spinner, elapsed
	// time, latest output). Zero starts no timer: the view then draws only
	// on events and on Tick, which is what tests do.
	Redraw time.Duration
	// OpenLog creates the file that receives the full log. It is called
	// once, when the first operation starts, so that a run with nothing to
	// do leaves no log behind; name is how the file is shown to the user.
	// nil: no log.
	OpenLog func() (w io.WriteCloser, name string, err error)
}

// LiveHooks is the apply view for a terminal. Each resource operation and
// each running layer has one live line at the bottom of the screen
// (spinner, elapsed time, download progress, latest output line), redrawn in
// place; a finished one collapses to a single line with its time. The full
// output, exactly the lines HumanHooks would print, goes to the log file
// instead. A failed layer prints its last output lines and the log's name.
// Safe for concurrent use.
type LiveHooks struct {
	mu      sync.Mutex
	o       LiveOptions
	streams *Streams
	items   []*liveItem
	drawn   int // live lines on the screen now, above the cursor

	// log is the streaming view, writing the full log to sink.
	log       *HumanHooks
	sink      logSink
	logOpened bool // the apply started: the log is open, or failed to open

	quit chan struct{}
	done chan struct{}
}

// tailLen is how many of a failed layer's last output lines the view shows.
const tailLen = 30

// spinner has the frames of the spinner, one per 100ms of an item's life.
const spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

const (
	markDone   = "✓"
	markFailed = "✗"
	dim        = "2"
)

// liveItem is one operation in flight: a resource being created, changed
// or destroyed, or a layer being applied or removed.
type liveItem struct {
	addr   string
	verb   string
	start  time.Time
	latest string
	prog   downloadProgress
	tail   []string
}

// logSink holds the log in memory until the file is opened, then writes
// through to it; without a file (none wanted, or it could not be created)
// it drops what comes after the apply started. It is used under
// LiveHooks.mu only.
type logSink struct {
	buf  bytes.Buffer
	file io.WriteCloser
	name string
	err  error
	drop bool
}

func (s *logSink) Write(p []byte) (int, error) {
	if s.drop {
		return len(p), nil
	}
	if s.file != nil {
		if _, err := s.file.Write(p); err != nil && s.err == nil {
			s.err = err
		}
		return len(p), nil
	}
	return s.buf.Write(p)
}

// NewLiveHooks returns the terminal view; call Close when the run ends.
func NewLiveHooks(o LiveOptions) *LiveHooks {
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &LiveHooks{o: o, streams: &Streams{Color: o.Color}}
	l.log = NewHumanHooks(&l.sink, &Streams{})
	if o.Redraw > 0 {
		l.quit, l.done = make(chan struct{}), make(chan struct{})
		go l.loop(o.Redraw)
	}
	return l
}

func (l *LiveHooks) loop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
			l.Tick()
		}
	}
}

// Tick redraws the live lines (the spinner turns, times advance).
func (l *LiveHooks) Tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) > 0 {
		l.draw(nil)
	}
}

// Close stops redrawing, closes the log and names it. Operations still on
// the screen (the run was interrupted) are left as one line each.
func (l *LiveHooks) Close() error {
	if l.quit != nil {
		close(l.quit)
		<-l.done
		l.quit = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var static []string
	now := l.o.Now()
	for _, it := range l.items {
		static = append(static, fmt.Sprintf("%s %s: unfinished after %s", l.streams.color(yellow, "-"), it.addr, round(now.Sub(it.start))))
	}
	l.items = nil
	var err error
	if l.sink.file != nil {
		err = l.sink.file.Close()
		if err == nil {
			err = l.sink.err
		}
		if err != nil {
			static = append(static, "", "Error writing the log "+l.sink.name+": "+err.Error())
		} else {
			static = append(static, "", "Full log: "+l.sink.name)
		}
		l.sink.file = nil
	}
	if len(static) > 0 || l.drawn > 0 {
		l.draw(static)
	}
	return err
}

// openLog is called by every event of the apply itself. The first one
// creates the log file and writes what was held in memory until then, and
// returns an empty line that sets the operations apart from the plan above
// them (and a warning when there is no log). mu must be held.
func (l *LiveHooks) openLog() []string {
	if l.logOpened {
		return nil
	}
	l.logOpened = true
	if l.o.OpenLog == nil {
		l.sink.drop = true
		return []string{""}
	}
	w, name, err := l.o.OpenLog()
	if err != nil {
		l.sink.drop = true
		return []string{"", l.streams.color(yellow, "Warning:") + " no log file, remote output is not kept: " + err.Error()}
	}
	l.sink.file, l.sink.name = w, name
	if _, err := w.Write(l.sink.buf.Bytes()); err != nil {
		l.sink.err = err
	}
	l.sink.buf.Reset()
	return []string{""}
}

// draw puts the static lines above the live region, then redraws the live
// region. The cursor is always at the start of the line below the region,
// so moving up l.drawn lines reaches its first line. mu must be held.
func (l *LiveHooks) draw(static []string) {
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", l.drawn)
	}
	for _, s := range static {
		b.WriteString(s)
		b.WriteString("\x1b[K\n")
	}
	live := l.liveLines()
	for _, s := range live {
		b.WriteString(s)
		b.WriteString("\x1b[K\n")
	}
	if l.drawn > len(static)+len(live) {
		b.WriteString("\x1b[J")
	}
	l.drawn = len(live)
	if b.Len() > 0 {
		_, _ = io.WriteString(l.o.Out, b.String())
	}
}

func (l *LiveHooks) size() (cols, rows int) {
	cols, rows = 80, 24
	if l.o.Size != nil {
		c, r := l.o.Size()
		if c > 0 {
			cols = c
		}
		if r > 0 {
			rows = r
		}
	}
	return cols, rows
}

// liveLines renders one line per item, each narrower than the terminal
// (a wrapped line would break the count of lines to move up), and no more
// lines than fit on the screen.
func (l *LiveHooks) liveLines() []string {
	if len(l.items) == 0 {
		return nil
	}
	cols, rows := l.size()
	width := cols - 1
	maxLines := max(rows-2, 1)
	items := l.items
	more := 0
	if len(items) > maxLines {
		more = len(items) - (maxLines - 1)
		items = items[:maxLines-1]
	}
	now := l.o.Now()
	out := make([]string, 0, len(items)+1)
	for _, it := range items {
		d := max(now.Sub(it.start), 0)
		frames := []rune(spinner)
		spin := string(frames[int(d/(100*time.Millisecond))%len(frames)])
		segs := []segment{
			{spin + " ", cyan},
			{it.addr, bold},
			{": " + it.verb + "... " + shortDuration(d), ""},
		}
		if p := it.prog.String(); p != "" {
			segs = append(segs, segment{"  " + p, ""})
		}
		if it.latest != "" {
			segs = append(segs, segment{"  " + it.latest, dim})
		}
		out = append(out, l.fit(segs, width))
	}
	if more > 0 {
		out = append(out, l.fit([]segment{{fmt.Sprintf("  ... and %d more running", more), dim}}, width))
	}
	return out
}

// segment is a piece of a live line with its colour.
type segment struct {
	text, code string
}

// fit joins segments, cut to width characters, colouring each.
func (l *LiveHooks) fit(segs []segment, width int) string {
	var b strings.Builder
	left := width
	for i, s := range segs {
		if left <= 0 {
			break
		}
		r := []rune(s.text)
		if i > 0 && len(r) > left && left < 8 {
			break // a stub of a few characters says nothing
		}
		if len(r) > left {
			if left > 1 {
				r = append(r[:left-1], '…')
			} else {
				r = r[:left]
			}
		}
		left -= len(r)
		if s.code == "" {
			b.WriteString(string(r))
		} else {
			b.WriteString(l.streams.color(s.code, string(r)))
		}
	}
	return b.String()
}

// shortDuration is an elapsed time to the second: 7s, 1m05s, 1h02m.
func shortDuration(d time.Duration) string {
	s := int(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

func (l *LiveHooks) find(addr string) (int, *liveItem) {
	for i, it := range l.items {
		if it.addr == addr {
			return i, it
		}
	}
	return -1, nil
}

// start adds a live line for addr (or restarts its clock). mu must be held.
func (l *LiveHooks) start(addr, verb string) {
	static := l.openLog()
	if _, it := l.find(addr); it != nil {
		it.verb, it.start = verb, l.o.Now()
	} else {
		l.items = append(l.items, &liveItem{addr: addr, verb: verb, start: l.o.Now()})
	}
	l.draw(static)
}

// finish removes addr's live line. mu must be held.
func (l *LiveHooks) finish(addr string) *liveItem {
	i, it := l.find(addr)
	if it == nil {
		return nil
	}
	l.items = append(l.items[:i], l.items[i+1:]...)
	return it
}

// Above returns a writer for messages written outside the view to the same
// terminal (the interrupt notice on stderr): each write first clears the
// live lines, and they are drawn again below it, so that it is neither
// drawn over nor left inside the live region. Outside a run it writes
// through.
func (l *LiveHooks) Above(w io.Writer) io.Writer { return aboveWriter{l, w} }

type aboveWriter struct {
	l *LiveHooks
	w io.Writer
}

func (a aboveWriter) Write(p []byte) (int, error) {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn > 0 {
		_, _ = fmt.Fprintf(l.o.Out, "\r\x1b[%dA\x1b[J", l.drawn)
		l.drawn = 0
	}
	n, err := a.w.Write(p)
	if len(l.items) > 0 {
		l.draw(nil)
	}
	return n, err
}

// Note prints a message from outside the engine (the SSH transport's
// "waiting for SSH ...") above the live lines and into the log.
func (l *LiveHooks) Note(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(&l.sink, msg)
	l.draw([]string{msg})
}

func (l *LiveHooks) Refreshing(a addrs.Resource, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Refreshing(a, id)
	l.draw([]string{fmt.Sprintf("%s: Refreshing state...%s", a, idSuffix(id))})
}

func (l *LiveHooks) Probing(a addrs.Resource, target string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Probing(a, target)
	l.draw([]string{fmt.Sprintf("%s: Checking layers on %s...", a, target)})
}

func (l *LiveHooks) PreApply(a addrs.Resource, act plan.Action, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.PreApply(a, act, id)
	l.start(a.String(), progressing(act))
}

// Progress updates the resource's live line; outside an operation (a host
// being connected to before its layers run) it is a line of its own.
func (l *LiveHooks) Progress(a addrs.Resource, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Progress(a, msg)
	static := l.openLog()
	if _, it := l.find(a.String()); it != nil {
		it.latest = cleanLine(msg)
		if len(static) > 0 {
			l.draw(static)
		}
		return
	}
	l.draw(append(static, fmt.Sprintf("%s: %s", a, msg)))
}

func (l *LiveHooks) StillApplying(a addrs.Resource, act plan.Action, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.StillApplying(a, act, d)
}

func (l *LiveHooks) PostApply(a addrs.Resource, act plan.Action, id string, d time.Duration, diags hcl.Diagnostics) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.PostApply(a, act, id, d, diags)
	l.finish(a.String())
	if diags.HasErrors() {
		l.draw([]string{fmt.Sprintf("%s %s: %s after %s", l.streams.color(red, markFailed), a, l.streams.color(red, "Failed"), round(d))})
		return
	}
	l.draw([]string{fmt.Sprintf("%s %s: %s after %s%s", l.streams.color(green, markDone), l.streams.color(bold, a.String()), finished(act), round(d), idSuffix(id))})
}

func (l *LiveHooks) LayerStart(a addrs.Layer, act plan.Action) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.LayerStart(a, act)
	verb := "Applying"
	if act == plan.Delete {
		verb = "Removing"
	}
	l.start(a.String(), verb)
}

// LayerOutput goes to the log; the live line keeps the latest line and
// the download progress read from the lines, and is redrawn on the next
// tick rather than for every line.
func (l *LiveHooks) LayerOutput(a addrs.Layer, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.LayerOutput(a, line)
	_, it := l.find(a.String())
	if it == nil {
		// Output is always preceded by LayerStart; a stray line still counts.
		l.start(a.String(), "Applying")
		_, it = l.find(a.String())
	}
	if c := cleanLine(line); c != "" {
		it.latest = c
	}
	it.prog.feed(line)
	it.tail = append(it.tail, line)
	if len(it.tail) > tailLen {
		it.tail = it.tail[len(it.tail)-tailLen:]
	}
}

func (l *LiveHooks) LayerStill(a addrs.Layer, act plan.Action, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.LayerStill(a, act, d)
}

func (l *LiveHooks) LayerDone(a addrs.Layer, act plan.Action, d time.Duration, diags hcl.Diagnostics) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.LayerDone(a, act, d, diags)
	it := l.finish(a.String())
	if !diags.HasErrors() {
		l.draw([]string{fmt.Sprintf("%s %s: Complete after %s", l.streams.color(green, markDone), l.streams.color(bold, a.String()), round(d))})
		return
	}
	static := []string{fmt.Sprintf("%s %s: %s after %s", l.streams.color(red, markFailed), a, l.streams.color(red, "Failed"), round(d))}
	if it != nil && len(it.tail) > 0 {
		if len(it.tail) == 1 {
			static = append(static, "  Its last line of output:")
		} else {
			static = append(static, fmt.Sprintf("  Its last %d lines of output:", len(it.tail)))
		}
		for _, line := range it.tail {
			static = append(static, "  "+l.streams.color(cyan, "|")+" "+screenText(line))
		}
	}
	if l.sink.name != "" {
		static = append(static, "  Full log: "+l.sink.name)
	}
	l.draw(static)
}

var _ plan.Hooks = (*LiveHooks)(nil)
