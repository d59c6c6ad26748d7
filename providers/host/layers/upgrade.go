package layers

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/providers"
)

// With -upgrade (providers.LayerLock.Upgrade) the layers that install
// packages re-resolve them: their probe also asks apt for each package's
// candidate, the version `apt-get install` would pick from the host's
// package lists, a package installed at another version makes the layer
// out of date, and the action installs NAME=CANDIDATE. The probe stays
// read-only: it reads the lists as the host's last apt-get update left
// them and reports their date, so the plan can say how fresh they are.
// Without -upgrade the probe script is exactly what it was.

// upgradable is a spec whose packages -upgrade re-resolves.
type upgradable interface {
	// upgradePackages lists the packages the configuration does not pin
	// to a version, each with the key of its probeDpkg fact.
	upgradePackages() []dpkgPackage
}

// dpkgPackage is one package of a layer and the key of its probeDpkg fact.
type dpkgPackage struct {
	name, key string
}

func (s *aptSpec) upgradePackages() []dpkgPackage {
	var out []dpkgPackage
	for j, p := range s.packages {
		if name, version := splitPackage(p); version == "" {
			out = append(out, dpkgPackage{name: name, key: "pkg." + strconv.Itoa(j)})
		}
	}
	return out
}

func (s *dockerSpec) upgradePackages() []dpkgPackage {
	if name, version := splitPackage(s.pkg); version == "" {
		return []dpkgPackage{{name: name, key: "pkg"}}
	}
	return nil
}

// upgradeOf returns the packages -upgrade re-resolves for layer l with
// spec s: none unless the layer is planned with -upgrade.
func upgradeOf(l providers.Layer, s spec) []dpkgPackage {
	if u, ok := s.(upgradable); ok && l.Lock.Upgrade {
		return u.upgradePackages()
	}
	return nil
}

// candidateProbe is a spec whose probe also reports the candidates of
// pkgs and the date of the package lists. The engine uses it only to write
// the probe script; the spec itself judges the facts.
type candidateProbe struct {
	spec
	pkgs []dpkgPackage
}

func (c candidateProbe) probe(w *script) {
	c.spec.probe(w)
	for k, p := range c.pkgs {
		// LC_ALL=C: apt translates "Candidate:".
		w.fact("candidate."+strconv.Itoa(k), `"$(LC_ALL=C apt-cache policy `+quote(p.name)+` 2>/dev/null)"`)
	}
	w.fact("lists", `"$(stat -c %Y /var/lib/apt/lists/*_Packages* 2>/dev/null | sort -n | tail -n 1)"`)
}

// withCandidates returns the specs to write the probe script of layers
// with: those re-resolved by -upgrade also probe their candidates.
func withCandidates(layers []providers.Layer, specs []spec) []spec {
	out := make([]spec, len(specs))
	for i, s := range specs {
		out[i] = s
		if pkgs := upgradeOf(layers[i], s); len(pkgs) > 0 {
			out[i] = candidateProbe{spec: s, pkgs: pkgs}
		}
	}
	return out
}

// parseCandidate reads the "  Candidate: VERSION" line of `apt-cache
// policy NAME` output (in the C locale); "" when there is none or apt says
// "(none)".
func parseCandidate(policy string) string {
	for _, line := range strings.Split(policy, "\n") {
		if v, ok := strings.CutPrefix(line, "  Candidate: "); ok {
			v = strings.TrimSpace(v)
			if v == "(none)" || strings.ContainsAny(v, " \t") {
				return ""
			}
			return v
		}
	}
	return ""
}

// upgradeFacts reads what the probe found for pkgs with -upgrade.
func upgradeFacts(pkgs []dpkgPackage, f facts) *providers.UpgradeFacts {
	uf := &providers.UpgradeFacts{Candidates: map[string]string{}, Installed: map[string]string{}}
	for k, p := range pkgs {
		uf.Candidates[p.name] = parseCandidate(f["candidate."+strconv.Itoa(k)])
		if ok, v := dpkgState(f[p.key]); ok {
			uf.Installed[p.name] = v
		} else {
			uf.Installed[p.name] = ""
		}
	}
	if sec, err := strconv.ParseInt(strings.TrimSpace(f["lists"]), 10, 64); err == nil && sec > 0 {
		uf.ListsDate = time.Unix(sec, 0).UTC()
	}
	return uf
}

// upgradeTargets returns the packages -upgrade moves: installed at a
// version other than the candidate, name -> candidate. A package not
// installed is the layer's own business (it installs the candidate).
func upgradeTargets(uf *providers.UpgradeFacts) map[string]string {
	out := map[string]string{}
	for name, cand := range uf.Candidates {
		if have := uf.Installed[name]; cand != "" && have != "" && have != cand {
			out[name] = cand
		}
	}
	return out
}

// upgradeStatus adds to st, the layer's own judgement, the packages that
// -upgrade moves: each makes the layer out of date.
func upgradeStatus(pkgs []dpkgPackage, f facts, st status) status {
	if len(pkgs) == 0 {
		return st
	}
	uf := upgradeFacts(pkgs, f)
	targets := upgradeTargets(uf)
	for _, p := range pkgs {
		if cand, ok := targets[p.name]; ok {
			st.satisfied = false
			st.present = true
			st.reasons = append(st.reasons, "package "+p.name+" version "+uf.Installed[p.name]+" -> "+cand+" (-upgrade)")
		}
	}
	return st
}

// upgradeInstall writes the install of the candidates -upgrade moves to.
func upgradeInstall(w *script, pkgs []dpkgPackage, f facts) {
	if len(pkgs) == 0 {
		return
	}
	targets := upgradeTargets(upgradeFacts(pkgs, f))
	if len(targets) == 0 {
		return
	}
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	args := []string{"install", "-y"}
	for _, n := range names {
		args = append(args, quote(n+"="+targets[n]))
	}
	w.line("__mlops_require_root")
	w.aptGet(args...)
}
