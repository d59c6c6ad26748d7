package layers

import (
	"regexp"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func composeKind() kind {
	ls := &schema.Layer{
		Description: "Downloads the docker-compose binary into a directory and puts that directory on PATH in ~/.bashrc.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"version": {
				Type: cty.String, Required: true, Validate: stringCheck(validateVersion),
				Description: "The version the binary reports with --version, such as v2.5.0.",
			},
			"url": {
				Type: cty.String, Required: true, Validate: stringCheck(validateURL),
				Description: "Where to download the binary.",
			},
			"dir": {
				Type: cty.String, Optional: true, Default: cty.StringVal("~/soft"), Validate: stringCheck(validateBinDir),
				Description: "The directory that holds docker-compose; ~/ is the SSH user's home.",
			},
			"path": {
				Type: cty.Bool, Optional: true, Default: cty.True,
				Description: "Put dir on PATH with one line in ~/.bashrc, marked with the comment \"# mlops: docker_compose PATH\". With false, ~/.bashrc is left alone.",
			},
			"sha256": {
				Type: cty.String, Optional: true, Validate: stringCheck(validateSHA256),
				Description: "The binary's SHA-256 checksum, verified on the host before it is installed.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &composeSpec{
			version: a.str("version"), url: a.str("url"), dir: a.str("dir"),
			path: a.boolean("path"), sha256: strings.ToLower(a.str("sha256")),
		}
		return s, a.err
	}}
}

type composeSpec struct {
	version, url, dir, sha256 string
	path                      bool
}

// pathMarker ends the one line in ~/.bashrc that the docker_compose layer owns.
const pathMarker = "# mlops: docker_compose PATH"

func (s *composeSpec) binary() string { return joinPath(s.dir, "docker-compose") }

// pathLine is the line in ~/.bashrc that puts dir on PATH, such as
// export PATH="$HOME/soft:$PATH" # mlops: docker_compose PATH
func (s *composeSpec) pathLine() string {
	dir := strings.TrimRight(s.dir, "/")
	var expr string
	switch {
	case dir == "~":
		expr = "$HOME"
	case strings.HasPrefix(dir, "~/"):
		expr = "$HOME/" + dquoteEscape(dir[2:])
	default:
		expr = dquoteEscape(dir)
	}
	return `export PATH="` + expr + `:$PATH" ` + pathMarker
}

// versionPattern matches the version in --version output, with or without
// its leading v, as a whole word: v2.5.0 matches "version v2.5.0" and
// "version 2.5.0, build x" but not "2.5.01". It is both a Go regexp and a
// POSIX extended one (for grep -E on the host): validation leaves only
// [0-9A-Za-z.+_-] in a version, and QuoteMeta escapes . and + the same way
// in both dialects.
func versionPattern(version string) string {
	core := strings.TrimPrefix(version, "v")
	return `(^|[^0-9A-Za-z.])v?` + regexp.QuoteMeta(core) + `([^0-9A-Za-z.]|$)`
}

var anyVersionRe = regexp.MustCompile(`v?[0-9]+(\.[0-9A-Za-z]+)+`)

func (s *composeSpec) probe(w *script) {
	w.line("b=", shPath(s.binary()))
	w.flag("exists", `[ -e "$b" ]`)
	w.flag("exec", `[ -f "$b" ] && [ -x "$b" ]`)
	w.line(`if [ -f "$b" ] && [ -x "$b" ]; then`)
	w.line(`  v=$(timeout 30 "$b" --version 2>&1 | head -n 3)`)
	w.line(`  __mlops_fact version "$v"`)
	if s.sha256 != "" {
		// The real binary is ~25 MB: it is hashed only when its version is
		// the one wanted. One of another version is replaced anyway.
		w.line(`  if __mlops_match "$v" `, quote(versionPattern(s.version)), `; then`)
		w.line(`    sum=$(sha256sum <"$b" 2>/dev/null)`)
		w.line(`    __mlops_fact sum "${sum%% *}"`)
		w.line(`  fi`)
	}
	w.line(`fi`)
	w.fact("pathlines", `"$(grep -F -- `+quote(pathMarker)+` "$HOME/.bashrc" 2>/dev/null)"`)
}

// binaryReasons says what is wrong with the binary (nil: nothing).
func (s *composeSpec) binaryReasons(f facts) []string {
	switch {
	case !f.flag("exists"):
		return []string{s.binary() + " missing"}
	case !f.flag("exec"):
		return []string{s.binary() + " is not an executable file"}
	}
	var out []string
	versionOK := regexp.MustCompile(versionPattern(s.version)).MatchString(f["version"])
	if s.sha256 != "" {
		// The probe reports no sum for a binary of another version. One of
		// the right version without a sum (the host's regexp and this one
		// disagreeing) counts as different: it is never taken as verified.
		if sum, hashed := f["sum"]; hashed && sum != s.sha256 || !hashed && versionOK {
			out = append(out, s.binary()+" differs from sha256 "+s.sha256[:12]+"...")
		}
	}
	if !versionOK {
		have := anyVersionRe.FindString(f["version"])
		if have == "" {
			have = "unknown"
		}
		out = append(out, "docker_compose version "+have+" -> "+s.version)
	}
	return out
}

// pathReason says what is wrong with the PATH line ("" when nothing).
func (s *composeSpec) pathReason(f facts) string {
	var lines []string
	if v := f["pathlines"]; v != "" {
		lines = strings.Split(v, "\n")
	}
	switch {
	case !s.path:
		return "" // the layer leaves ~/.bashrc alone
	case len(lines) == 0:
		return "PATH line missing in ~/.bashrc"
	case len(lines) > 1:
		return "PATH line duplicated in ~/.bashrc"
	case lines[0] != s.pathLine():
		return "PATH line in ~/.bashrc differs"
	}
	return ""
}

func (s *composeSpec) status(f facts) status {
	st := status{present: f.flag("exists") || f["pathlines"] != ""}
	st.reasons = s.binaryReasons(f)
	if r := s.pathReason(f); r != "" {
		st.reasons = append(st.reasons, r)
	}
	st.satisfied = len(st.reasons) == 0
	return st
}

func (s *composeSpec) apply(w *script, f facts) {
	if len(s.binaryReasons(f)) > 0 {
		w.line("d=", shPath(s.dir))
		w.line(`__mlops_pick_sudo "$d"`)
		w.line(`tmp=$($__mlops_S mktemp "$d/.docker-compose.XXXXXX")`)
		w.line(`__mlops_tmps+=("$tmp")`)
		w.download(s.url, `"$tmp"`, s.sha256)
		w.line(`$__mlops_S chmod 0755 "$tmp"`)
		w.line(`out=$("$tmp" --version 2>&1) || true`)
		w.line(`printf '%s\n' "$out"`)
		w.line(`if ! printf '%s\n' "$out" | grep -Eq -- `, quote(versionPattern(s.version)), `; then`)
		w.line(`  echo `, quote("the downloaded binary does not report version "+s.version+"; check url and version"), ` >&2`)
		w.line(`  exit 1`)
		w.line(`fi`)
		w.line(`$__mlops_S mv -fT "$tmp" "$d/docker-compose"`)
		w.echo("installed " + s.binary())
	}
	if s.pathReason(f) != "" {
		writePathLine(w, true, s.pathLine())
	}
}

// writePathLine rewrites ~/.bashrc without the marked line and, if add,
// appends line. It writes through the file (cat >) rather than replacing it,
// so a symlinked ~/.bashrc stays a symlink and keeps its mode.
func writePathLine(w *script, add bool, line string) {
	w.line(`rc="$HOME/.bashrc"`)
	if add {
		w.line(`touch -- "$rc"`)
	}
	w.line(`if grep -qF -- `, quote(pathMarker), ` "$rc" 2>/dev/null; then`)
	w.line(`  tmp=$(mktemp "${TMPDIR:-/tmp}/mlops-bashrc.XXXXXX")`)
	w.line(`  __mlops_tmps+=("$tmp")`)
	w.line(`  grep -vF -- `, quote(pathMarker), ` "$rc" >"$tmp" || [ $? -eq 1 ]`)
	w.line(`  cat -- "$tmp" >"$rc"`)
	w.echo("removed the old PATH line from ~/.bashrc")
	w.line(`fi`)
	if add {
		w.line(`if [ -s "$rc" ] && [ -n "$(tail -c 1 -- "$rc")" ]; then echo >>"$rc"; fi`)
		w.line(`printf '%s\n' `, quote(line), ` >>"$rc"`)
		w.echo("added to ~/.bashrc: " + line)
	}
}

func (s *composeSpec) remove(w *script, others []spec) string {
	keepBinary, keepPath := false, !s.path
	for _, o := range others {
		if c, ok := o.(*composeSpec); ok {
			keepBinary = keepBinary || c.binary() == s.binary()
			keepPath = keepPath || c.path
		}
	}
	if !keepBinary {
		w.line("d=", shPath(s.dir))
		w.line(`if [ -e "$d/docker-compose" ] || [ -L "$d/docker-compose" ]; then`)
		w.line(`  __mlops_pick_sudo "$d"`)
		w.line(`  $__mlops_S rm -f -- "$d/docker-compose"`)
		w.echo("removed " + s.binary())
		w.line(`fi`)
	}
	if !keepPath {
		writePathLine(w, false, "")
	}
	return ""
}
