package command

import (
	"bytes"
	"fmt"
	"github.com/mlops-dev/mlops/internal/atomicfile"
	"os"
	"path/filepath"
	"sort"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/views"
)

const fmtUsage = `
Usage: mlops [-chdir=DIR] fmt [-check] [-diff] [FILE...]

  Rewrites the configuration files (*.hcl) in canonical style.

Options:
  -check   Change nothing; exit 3 when a file would change (for CI).
  -diff    Show the changes.
`

// fmtOptions are the flags and FILE arguments of mlops fmt.
type fmtOptions struct {
	check bool
	diff  bool
	chdir string
	files []string
}

func parseFmtOptions(d Deps, args []string) (*fmtOptions, bool) {
	o := &fmtOptions{}
	fs := newFlags(d, "fmt", fmtUsage)
	fs.BoolVar(&o.check, "check", false, "")
	fs.BoolVar(&o.diff, "diff", false, "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, fmtUsage, args) {
		return nil, false
	}
	o.files = fs.Args()
	return o, true
}

func runFmt(d Deps, g globals, args []string) int {
	o, ok := parseFmtOptions(d, args)
	if !ok {
		return 1
	}
	dir := configDir(d, g, o.chdir)
	files := fmtFiles(dir, o.files)
	changed := 0
	failed := false
	for _, f := range files {
		c, ok := fmtFile(d, o, dir, f)
		if c {
			changed++
		}
		failed = failed || !ok
	}
	switch {
	case failed:
		return 1
	case o.check && changed > 0:
		return 3
	}
	return 0
}

// fmtFiles are the files to format, absolute and sorted: those named, or
// every *.hcl file of dir but the lock file.
func fmtFiles(dir string, named []string) []string {
	var files []string
	if len(named) == 0 {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
		for _, m := range matches {
			// The lock file is mlops' own, already canonical.
			if filepath.Base(m) != lockfile.FileName {
				files = append(files, m)
			}
		}
	} else {
		for _, f := range named {
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files
}

// fmtFile formats one file: it names it (and shows the diff with -diff)
// when it changes, and rewrites it unless -check. changed says whether it
// was not canonical; ok is false when it could not be read, parsed or written.
func fmtFile(d Deps, o *fmtOptions, dir, f string) (changed, ok bool) {
	src, err := os.ReadFile(f)
	if err != nil {
		renderError(d, false, "Cannot read file", err)
		return false, false
	}
	rel, _ := filepath.Rel(dir, f)
	out, diags := config.Format(rel, src)
	if diags.HasErrors() {
		renderDiags(d, false, nil, diags)
		return false, false
	}
	if bytes.Equal(out, src) {
		return false, true
	}
	diff := ""
	if o.diff {
		diff = lineDiff(rel, string(src), string(out))
	}
	views.RenderFormatted(d.Streams.Out, rel, diff)
	if !o.check {
		st, _ := os.Stat(f)
		mode := os.FileMode(0o644)
		if st != nil {
			mode = st.Mode().Perm()
		}
		if err := atomicfile.Write(f, out, mode); err != nil {
			renderError(d, false, "Cannot write file", err)
			return true, false
		}
	}
	return true, true
}

// lineDiff is the unified diff (3 lines of context, "--- a/NAME" and
// "+++ b/NAME" headers, as diff -u and git print them) that turns a into b.
// go-udiff is the Go tools' own diff, so patch(1) applies it.
func lineDiff(name, a, b string) string {
	out, err := udiff.ToUnified("a/"+name, "b/"+name, a, udiff.Lines(a, b), udiff.DefaultContextLines)
	if err != nil {
		// The edits come from the same two strings; they cannot disagree.
		return fmt.Sprintf("(no diff: %v)\n", err)
	}
	return out
}
