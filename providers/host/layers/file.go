package layers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func fileKind() kind {
	ls := &schema.Layer{
		Description: "Writes a file. Files outside the SSH user's reach are written with sudo.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"destination": {
				Type: cty.String, Required: true, Validate: stringCheck(validateFilePath),
				Description: "Where to write; ~/ is the SSH user's home. Parent directories are created.",
			},
			"content": {
				Type: cty.String, Required: true, DigestInState: true,
				Description: "The file's content, byte for byte.",
			},
			"mode": {
				Type: cty.String, Optional: true, Default: cty.StringVal("0644"), Validate: stringCheck(validateMode),
				Description: "The file mode in octal.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &fileSpec{dest: a.str("destination"), content: a.str("content")}
		if m := a.str("mode"); a.err == nil {
			mode, err := parseMode(m)
			if err != nil {
				return nil, err
			}
			s.mode = mode
		}
		return s, a.err
	}}
}

type fileSpec struct {
	dest, content string
	mode          uint32
}

func (s *fileSpec) probe(w *script) {
	w.line("f=", shPath(s.dest))
	w.flag("exists", `[ -e "$f" ]`)
	w.flag("regular", `[ -f "$f" ]`)
	w.fact("mode", `"$(stat -L -c %a -- "$f" 2>/dev/null)"`)
	// A file the SSH user cannot read (a root-owned 0600 file in /etc) is
	// read with sudo -n when that works without a password: still read-only.
	w.line(`if [ -f "$f" ] && [ -r "$f" ]; then`)
	w.line(`  __mlops_fact readable 1`)
	w.line(`  sum=$(sha256sum <"$f")`)
	w.line(`  __mlops_fact sum "${sum%% *}"`)
	w.line(`elif [ -f "$f" ] && sudo -n true >/dev/null 2>&1; then`)
	w.line(`  __mlops_fact readable 1`)
	w.line(`  sum=$(sudo -n cat -- "$f" | sha256sum)`)
	w.line(`  __mlops_fact sum "${sum%% *}"`)
	w.line(`fi`)
}

func (s *fileSpec) sum() string {
	h := sha256.Sum256([]byte(s.content))
	return hex.EncodeToString(h[:])
}

// contentReason says why the file must be (re)written ("" when it need not).
func (s *fileSpec) contentReason(f facts) string {
	switch {
	case !f.flag("exists"):
		return s.dest + " missing"
	case !f.flag("regular"):
		return s.dest + " is not a regular file"
	case !f.flag("readable"):
		return s.dest + " is not readable by the SSH user (nor with sudo -n)"
	case f["sum"] != s.sum():
		return "content differs"
	}
	return ""
}

// modeReason says why the mode must change ("" when it need not).
func (s *fileSpec) modeReason(f facts) string {
	if !f.flag("regular") {
		return ""
	}
	have, err := strconv.ParseUint(f["mode"], 8, 32)
	if err != nil {
		return "mode unknown -> " + formatMode(s.mode)
	}
	if uint32(have) != s.mode {
		return "mode " + formatMode(uint32(have)) + " -> " + formatMode(s.mode)
	}
	return ""
}

func (s *fileSpec) status(f facts) status {
	st := status{present: f.flag("exists")}
	for _, r := range []string{s.contentReason(f), s.modeReason(f)} {
		if r != "" {
			st.reasons = append(st.reasons, r)
		}
	}
	st.satisfied = len(st.reasons) == 0
	return st
}

func (s *fileSpec) apply(w *script, f facts) {
	mode := quote(formatMode(s.mode))
	w.line("f=", shPath(s.dest))
	w.line("d=", shPath(parentPath(s.dest)))
	w.line(`__mlops_pick_sudo "$d"`)
	if s.contentReason(f) != "" {
		w.line(`if [ -d "$f" ]; then echo `, quote(s.dest+" is a directory"), ` >&2; exit 1; fi`)
		w.line(`tmp=$($__mlops_S mktemp "$d/.mlops-file.XXXXXX")`)
		w.line(`__mlops_tmps+=("$tmp")`)
		w.line(`printf '%s' `, quote(base64.StdEncoding.EncodeToString([]byte(s.content))), ` | base64 -d | $__mlops_S tee -- "$tmp" >/dev/null`)
		w.line(`$__mlops_S chmod `, mode, ` "$tmp"`)
		w.line(`$__mlops_S mv -fT "$tmp" "$f"`)
		w.echo("wrote " + s.dest + " (" + strconv.Itoa(len(s.content)) + " bytes, mode " + formatMode(s.mode) + ")")
	} else {
		w.line(`$__mlops_S chmod `, mode, ` -- "$f"`)
		w.echo("changed the mode of " + s.dest + " to " + formatMode(s.mode))
	}
}

func (s *fileSpec) remove(w *script, others []spec) string {
	for _, o := range others {
		if fs, ok := o.(*fileSpec); ok && fs.dest == s.dest {
			return "left in place: " + s.dest + " is still written by another layer"
		}
	}
	w.line("f=", shPath(s.dest))
	w.line(`if [ -e "$f" ] || [ -L "$f" ]; then`)
	w.line(`  __mlops_pick_sudo `, shPath(parentPath(s.dest)))
	w.line(`  $__mlops_S rm -f -- "$f"`)
	w.echo("removed " + s.dest)
	w.line(`else`)
	w.echo(s.dest + " is already absent")
	w.line(`fi`)
	return ""
}
