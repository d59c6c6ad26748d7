package layers

import (
	"strconv"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func dockerKind() kind {
	ls := &schema.Layer{
		Description: "Installs Docker with apt-get and adds users to the docker group. Later layers run in a new login, so they see the group.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"users": {
				Type: cty.List(cty.String), Optional: true, Default: cty.ListValEmpty(cty.String),
				Validate:    listCheck(validateUser),
				Description: "Users to add to the docker group.",
			},
			"package": {
				Type: cty.String, Optional: true, Default: cty.StringVal("docker.io"),
				Validate:    stringCheck(validatePackage),
				Description: "The Debian package that provides Docker.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &dockerSpec{users: a.strings("users"), pkg: a.str("package")}
		return s, a.err
	}}
}

type dockerSpec struct {
	users []string
	pkg   string
}

func (s *dockerSpec) probe(w *script) {
	name, _ := splitPackage(s.pkg)
	probeDpkg(w, "pkg", name)
	for j, u := range s.users {
		k := strconv.Itoa(j)
		w.flag("exists."+k, `id -u `+quote(u)+` >/dev/null 2>&1`)
		w.fact("groups."+k, `"$(id -nG `+quote(u)+` 2>/dev/null)"`)
	}
}

// inGroup reports whether an `id -nG` output lists group.
func inGroup(idOutput, group string) bool {
	for _, g := range strings.Fields(idOutput) {
		if g == group {
			return true
		}
	}
	return false
}

func (s *dockerSpec) status(f facts) status {
	st := status{satisfied: true}
	if ok, _ := dpkgState(f["pkg"]); ok {
		st.present = true
	}
	if r := packageReason(s.pkg, f["pkg"]); r != "" {
		st.satisfied = false
		st.reasons = append(st.reasons, r)
	}
	for _, u := range s.missingUsers(f) {
		st.satisfied = false
		if f.flag("exists." + strconv.Itoa(u)) {
			st.reasons = append(st.reasons, "user "+s.users[u]+" not in group docker")
		} else {
			st.reasons = append(st.reasons, "user "+s.users[u]+" does not exist")
		}
	}
	return st
}

// missingUsers returns the indexes of users not in the docker group.
func (s *dockerSpec) missingUsers(f facts) []int {
	var out []int
	for j := range s.users {
		if !inGroup(f["groups."+strconv.Itoa(j)], "docker") {
			out = append(out, j)
		}
	}
	return out
}

func (s *dockerSpec) apply(w *script, f facts) {
	w.line("__mlops_require_root")
	if packageReason(s.pkg, f["pkg"]) != "" {
		w.checkLocked([]string{s.pkg})
		w.aptGet("install", "-y", quote(w.pinned(s.pkg)))
	}
	w.line("__mlops_root groupadd -f docker")
	for _, j := range s.missingUsers(f) {
		u := s.users[j]
		w.line("__mlops_root usermod -aG docker ", quote(u))
		w.echo("added " + u + " to group docker")
	}
	w.line("docker --version")
}

// addsUsers reports whether applying the layer changes group membership,
// after which the engine reconnects so later layers see it.
func (s *dockerSpec) addsUsers(f facts) bool { return len(s.missingUsers(f)) > 0 }

func (s *dockerSpec) remove(w *script, others []spec) string {
	return "left in place: mlops does not uninstall Docker or change group membership"
}
