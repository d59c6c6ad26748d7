package views

import (
	"fmt"
	"io"
	"strings"
)

// RenderFormatted names a file mlops fmt changed (or would change), with
// its unified diff when -diff asked for one (diff is "" otherwise).
func RenderFormatted(w io.Writer, name, diff string) {
	fmt.Fprintln(w, name)
	fmt.Fprint(w, diff)
}

// RenderValid is mlops validate's verdict when nothing is wrong.
func RenderValid(s *Streams) {
	fmt.Fprintln(s.Out, s.Colorize("32;1", "Success!")+" The configuration is valid.")
}

// RenderStateJSON prints an encoded state (state pull, show -json) and a
// final newline.
func RenderStateJSON(w io.Writer, encoded []byte) {
	w.Write(encoded)
	fmt.Fprintln(w)
}

// RenderUsageError reports wrong arguments: the problem (omitted when
// empty), then the command's usage.
func RenderUsageError(w io.Writer, problem, usage string) {
	if problem == "" {
		fmt.Fprintln(w, strings.TrimSpace(usage))
		return
	}
	fmt.Fprintf(w, "Error: %s\n\n%s\n", problem, strings.TrimSpace(usage))
}

// RenderArgError reports a wrong argument without the usage.
func RenderArgError(w io.Writer, problem string) {
	fmt.Fprintf(w, "Error: %s\n", problem)
}
