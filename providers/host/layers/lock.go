package layers

import (
	"strconv"
	"strings"

	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/providers"
)

// The lock file (mlops.lock.hcl) pins what layers install: package
// versions and download checksums. A layer reads the pins from
// script.lock when it writes its action, and reports, after it ran, what
// it installed (locker): package versions from the probe that confirms the
// layer (no extra round trip), checksums from records its script prints.

// locker is a spec that has something for the lock file.
type locker interface {
	// lockFacts reads the facts of a probe and the checksums the layer's
	// script reported (URL -> sha256; nil when its action did not run).
	lockFacts(f facts, sums map[string]string) providers.LockFacts
}

// pinned returns the package argument for apt-get install: p itself when it
// names a version or the lock has none, else name=version from the lock.
func (w *script) pinned(p string) string {
	name, version := splitPackage(p)
	if version != "" {
		return p
	}
	if v := w.lock.Packages[name]; v != "" {
		return name + "=" + v
	}
	return p
}

// checkLocked writes a check, before apt-get install, that the package
// mirror still has every version the lock pins for pkgs: apt's own error
// ("Version ... was not found") does not say where the version came from.
func (w *script) checkLocked(pkgs []string) {
	var pins []string
	for _, p := range pkgs {
		name, version := splitPackage(p)
		if version == "" {
			if v := w.lock.Packages[name]; v != "" {
				pins = append(pins, name, v)
			}
		}
	}
	if len(pins) == 0 {
		return
	}
	w.aptPrepare()
	for i := 0; i < len(pins); i += 2 {
		name, v := pins[i], pins[i+1]
		// apt-cache show exits 0 with no output for a version it lacks.
		w.line(`if [ -z "$(apt-cache show `, quote(name+"="+v), ` 2>/dev/null)" ]; then`)
		w.line(`  echo `, quote("the lock file "+lockfile.FileName+" pins package "+name+" at version "+v+
			", which the package mirror no longer has; mlops apply -upgrade installs the version it has now and records it"), ` >&2`)
		w.line(`  exit 1`)
		w.line(`fi`)
	}
}

// download writes the download of url to file (a shell word, already
// quoted or a "$var"), its verification against the configured sha256 or,
// when there is none, against the lock, and a record of its checksum for
// the lock.
func (w *script) download(url, file, configured string) {
	w.line(`__mlops_download `, quote(url), ` `, file)
	if configured != "" {
		w.line(`__mlops_verify `, file, ` `, quote(configured))
		return
	}
	locked := w.lock.Downloads[url]
	w.line(`got=$($__mlops_S cat -- `, file, ` | sha256sum | cut -d' ' -f1)`)
	if locked != "" {
		w.line(`if [ "$got" != `, quote(locked), ` ]; then`)
		w.line(`  echo "the download of "`, quote(url), `" changed: it has sha256 $got, the lock file `, lockfile.FileName,
			` records "`, quote(locked), `"; if the new file is trusted, mlops apply -upgrade records it" >&2`)
		w.line(`  exit 1`)
		w.line(`fi`)
		w.line(`echo "sha256 verified against the lock file: $got"`)
	}
	w.line(`printf '%s\n' "`, sumMarker(w.nonce), `$got "`, quote(url))
}

// sumMarker starts the line a converge script prints to report a
// download's checksum; the nonce keeps anything else from passing for one.
func sumMarker(nonce string) string { return "@@mlops:" + nonce + " sha256 " }

// parseSum reads a checksum record line; ok is false for any other line.
func parseSum(nonce, line string) (url, sum string, ok bool) {
	rest, found := strings.CutPrefix(line, sumMarker(nonce))
	if !found || nonce == "" {
		return "", "", false
	}
	sum, url, found = strings.Cut(rest, " ")
	return url, sum, found && len(sum) == 64
}

func (s *aptSpec) lockFacts(f facts, _ map[string]string) providers.LockFacts {
	lf := providers.LockFacts{Packages: map[string]string{}}
	for j, p := range s.packages {
		name, _ := splitPackage(p)
		if ok, v := dpkgState(f["pkg."+strconv.Itoa(j)]); ok {
			lf.Packages[name] = v
		}
	}
	return lf
}

func (s *dockerSpec) lockFacts(f facts, _ map[string]string) providers.LockFacts {
	lf := providers.LockFacts{Packages: map[string]string{}}
	name, _ := splitPackage(s.pkg)
	if ok, v := dpkgState(f["pkg"]); ok {
		lf.Packages[name] = v
	}
	return lf
}

func (s *anacondaSpec) lockFacts(_ facts, sums map[string]string) providers.LockFacts {
	return downloadFacts(s.installer, s.sha256, sums)
}

func (s *composeSpec) lockFacts(_ facts, sums map[string]string) providers.LockFacts {
	return downloadFacts(s.url, s.sha256, sums)
}

// downloadFacts reports the checksum of url when the layer downloaded it
// and the configuration does not give one (a configured one is the
// configuration's, not the lock's).
func downloadFacts(url, configured string, sums map[string]string) providers.LockFacts {
	if sum, ok := sums[url]; ok && configured == "" {
		return providers.LockFacts{Downloads: map[string]string{url: sum}}
	}
	return providers.LockFacts{}
}
