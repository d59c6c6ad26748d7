package layers

import (
	"path"
	"strings"

	"github.com/mlops-dev/mlops/internal/shellword"
)

// quote returns s as one bash word that expands to exactly s
// (shellword.Quote). Every value from configuration that goes into a
// remote script passes through quote (or through base64) even though
// validation has already rejected the hostile ones: the two defences are
// independent.
var quote = shellword.Quote

// shPath returns a bash expression for a path from configuration. A leading
// "~/" means the SSH user's home directory and is expanded on the host:
// "~/soft dir" becomes "$HOME"/'soft dir'. Other paths are quoted as they are.
func shPath(p string) string {
	switch {
	case p == "~":
		return `"$HOME"`
	case strings.HasPrefix(p, "~/"):
		rest := strings.TrimLeft(p[2:], "/")
		if rest == "" {
			return `"$HOME"`
		}
		return `"$HOME"/` + quote(rest)
	}
	return quote(p)
}

// parentPath returns the directory that holds p, in the same notation
// ("~/.config/mlops/env" -> "~/.config/mlops", "~/x" -> "~").
func parentPath(p string) string {
	if strings.HasPrefix(p, "~/") {
		d := path.Dir(p[1:]) // "/.config/mlops" or "/"
		if d == "/" {
			return "~"
		}
		return "~" + d
	}
	return path.Dir(p)
}

// joinPath joins a directory in configuration notation with a file name.
func joinPath(dir, name string) string {
	return strings.TrimRight(dir, "/") + "/" + name
}

// dquoteEscape escapes s for use inside a double-quoted bash string, where
// $, `, " and \ are special.
func dquoteEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '$', '`', '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
