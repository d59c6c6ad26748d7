package layers

import (
	"strconv"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func aptKind() kind {
	ls := &schema.Layer{
		Description: "Installs Debian packages with apt-get.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"update": {
				Type: cty.Bool, Optional: true, Default: cty.False,
				Description: "Run apt-get update before installing, whenever the layer runs. It never makes the layer out of date by itself.",
			},
			"packages": {
				Type: cty.List(cty.String), Optional: true, Default: cty.ListValEmpty(cty.String),
				Validate:    listCheck(validatePackage),
				Description: "Packages to install; NAME or NAME=VERSION.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &aptSpec{update: a.boolean("update"), packages: a.strings("packages")}
		return s, a.err
	}}
}

type aptSpec struct {
	update   bool
	packages []string
}

// splitPackage splits "name=version" (version "" when not pinned).
func splitPackage(p string) (name, version string) {
	name, version, _ = strings.Cut(p, "=")
	return name, version
}

// probeDpkg writes the fact key = "STATUS|VERSION" of a package as dpkg knows it.
func probeDpkg(w *script, key, name string) {
	w.fact(key, `"$(dpkg-query -W -f='${Status}|${Version}' `+quote(name)+` 2>/dev/null)"`)
}

// dpkgState reads a probeDpkg fact: whether the package is installed and its version.
func dpkgState(v string) (installed bool, version string) {
	st, ver, _ := strings.Cut(v, "|")
	f := strings.Fields(st)
	return len(f) == 3 && f[2] == "installed", ver
}

// packageReason says why package p is not as wanted, or "" when it is.
func packageReason(p, fact string) string {
	name, want := splitPackage(p)
	installed, have := dpkgState(fact)
	switch {
	case !installed:
		return "package " + name + " not installed"
	case want != "" && have != want:
		return "package " + name + " version " + have + " -> " + want
	}
	return ""
}

// probe asks dpkg once for all the packages (each dpkg-query reads the
// whole status database: about 8 ms of the host's CPU), then writes each
// package's fact as probeDpkg would: the "STATUS|VERSION" of every
// instance dpkg knows by that name, run together.
func (s *aptSpec) probe(w *script) {
	switch len(s.packages) {
	case 0:
		return
	case 1:
		name, _ := splitPackage(s.packages[0])
		probeDpkg(w, "pkg.0", name)
		return
	}
	names := make([]string, len(s.packages))
	for j, p := range s.packages {
		name, _ := splitPackage(p)
		names[j] = quote(name)
	}
	w.line(`q=$(dpkg-query -W -f='${Package}|${Status}|${Version}\n' `, strings.Join(names, " "), ` 2>/dev/null) || :`)
	for j, name := range names {
		w.line(`v=; while IFS= read -r l; do if [ "${l%%|*}" = `, name, ` ]; then v+=${l#*|}; fi; done <<<"$q"`)
		w.fact("pkg."+strconv.Itoa(j), `"$v"`)
	}
}

func (s *aptSpec) status(f facts) status {
	st := status{satisfied: true}
	for j, p := range s.packages {
		fact := f["pkg."+strconv.Itoa(j)]
		if ok, _ := dpkgState(fact); ok {
			st.present = true
		}
		if r := packageReason(p, fact); r != "" {
			st.satisfied = false
			st.reasons = append(st.reasons, r)
		}
	}
	return st
}

func (s *aptSpec) apply(w *script, f facts) {
	w.line("__mlops_require_root")
	var missing []string
	for j, p := range s.packages {
		if packageReason(p, f["pkg."+strconv.Itoa(j)]) != "" {
			missing = append(missing, p)
		}
	}
	if s.update {
		w.aptGet("update")
	}
	w.checkLocked(missing)
	for i, p := range missing {
		missing[i] = quote(w.pinned(p))
	}
	if len(missing) > 0 {
		w.aptGet(append([]string{"install", "-y"}, missing...)...)
	}
}

func (s *aptSpec) remove(w *script, others []spec) string {
	return "left in place: mlops does not uninstall apt packages"
}
