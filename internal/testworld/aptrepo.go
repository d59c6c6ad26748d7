package testworld

import (
	"fmt"
	"strings"
	"testing"
)

// AptRepoDir is where AddAptRepo puts the repository inside a host.
const AptRepoDir = "/opt/mlops-test-repo"

// AddAptRepo gives the host a local apt repository (a flat one at
// file:AptRepoDir, trusted, listed in /etc/apt/sources.list.d) holding the
// package name in each of versions. Each version installs only
// /usr/share/doc/NAME/version, holding the version, so a test can tell which
// one apt installed. Nothing leaves the host: the repository lives in its
// file system. apt sees the packages after the next apt-get update. Calling
// it again replaces the repository with the new versions, as a mirror that
// moves on does.
func (h *Host) AddAptRepo(t testing.TB, name string, versions ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "set -euo pipefail\nrepo=%s\nrm -rf \"$repo\"\nmkdir -p \"$repo\"\n", AptRepoDir)
	for _, v := range versions {
		fmt.Fprintf(&b, `d=$(mktemp -d)
mkdir -p "$d/DEBIAN" "$d/usr/share/doc/%[1]s"
printf 'Package: %[1]s\nVersion: %[2]s\nArchitecture: all\nMaintainer: mlops tests <tests@mlops.invalid>\nDescription: a package whose version tells which one apt installed\n' >"$d/DEBIAN/control"
echo %[2]s >"$d/usr/share/doc/%[1]s/version"
dpkg-deb --root-owner-group --build "$d" "$repo/%[1]s_%[2]s_all.deb" >/dev/null
rm -rf "$d"
`, name, v)
	}
	b.WriteString(`cd "$repo"
: >Packages
for f in *.deb; do
  dpkg-deb -f "$f" >>Packages
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)" >>Packages
done
echo "deb [trusted=yes] file:$repo ./" >/etc/apt/sources.list.d/mlops-test.list
`)
	h.Exec(t, b.String())
}
