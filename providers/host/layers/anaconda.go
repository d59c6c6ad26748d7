package layers

import (
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func anacondaKind() kind {
	ls := &schema.Layer{
		Description: "Installs Anaconda (or Miniconda) with its installer in batch mode, as the SSH user.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"installer": {
				Type: cty.String, Required: true, Validate: stringCheck(validateURL),
				Description: "URL of the installer script, such as https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh.",
			},
			"sha256": {
				Type: cty.String, Optional: true, Validate: stringCheck(validateSHA256),
				Description: "The installer's SHA-256 checksum, verified on the host before it runs.",
			},
			"prefix": {
				Type: cty.String, Optional: true, Default: cty.StringVal("~/anaconda3"), Validate: stringCheck(validatePath),
				Description: "Where to install; ~/ is the SSH user's home.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &anacondaSpec{installer: a.str("installer"), sha256: strings.ToLower(a.str("sha256")), prefix: a.str("prefix")}
		return s, a.err
	}}
}

type anacondaSpec struct {
	installer, sha256, prefix string
}

func (s *anacondaSpec) probe(w *script) {
	w.line("p=", shPath(s.prefix))
	w.flag("exists", `[ -e "$p" ]`)
	w.flag("conda", `[ -x "$p/bin/conda" ]`)
	// One run of conda gives both facts: the real conda is a Python program
	// that takes up to a second to start.
	w.line(`if [ -x "$p/bin/conda" ]; then`)
	w.line(`  if v=$(timeout 60 "$p/bin/conda" --version 2>&1); then r=1; else r=; fi`)
	w.line(`  __mlops_fact version "${v%%$'\n'*}"`)
	w.line(`  __mlops_fact runs "$r"`)
	w.line(`fi`)
}

func (s *anacondaSpec) status(f facts) status {
	st := status{present: f.flag("exists")}
	switch {
	case !f.flag("conda"):
		st.reasons = []string{"anaconda not installed at " + s.prefix}
	case !f.flag("runs"):
		st.reasons = []string{joinPath(s.prefix, "bin/conda") + " --version fails: " + f["version"]}
	default:
		st.satisfied = true
	}
	return st
}

func (s *anacondaSpec) apply(w *script, f facts) {
	w.line("p=", shPath(s.prefix))
	w.line(`tmp=$(mktemp -d)`)
	w.line(`__mlops_tmps+=("$tmp")`)
	w.download(s.installer, `"$tmp/installer.sh"`, s.sha256)
	// The installer refuses an existing prefix unless told to update it.
	w.line(`if [ -e "$p" ]; then`)
	w.echo("installing into the existing " + s.prefix + " (-u)")
	w.line(`  bash "$tmp/installer.sh" -b -u -p "$p"`)
	w.line(`else`)
	w.line(`  bash "$tmp/installer.sh" -b -p "$p"`)
	w.line(`fi`)
	w.line(`"$p/bin/conda" --version`)
}

func (s *anacondaSpec) remove(w *script, others []spec) string {
	return "left in place: mlops does not delete " + s.prefix
}
