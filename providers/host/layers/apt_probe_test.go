package layers

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAptProbeOneQuery: the apt layer's probe asks dpkg once for all its
// packages and still reports for each what a dpkg-query of that package
// alone reports (installed, missing, a name that is a prefix of another),
// here against this machine's own dpkg database.
func TestAptProbeOneQuery(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skipf("no dpkg here: %v", err)
	}
	pkgs := []string{"dpkg", "no-such-package-mlops", "bash", "libc6", "dpkg-dev"}
	s := &aptSpec{packages: pkgs}
	w := &script{}
	s.probe(w)
	if n := strings.Count(w.b.String(), "dpkg-query"); n != 1 {
		t.Fatalf("the probe runs dpkg-query %d times, want once:\n%s", n, w.b.String())
	}
	out, err := exec.Command("bash", "-c", `__mlops_fact() { printf '%s=%s\n' "$1" "$2"; }
`+w.b.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(pkgs) {
		t.Fatalf("facts:\n%s", out)
	}
	for j, p := range pkgs {
		alone, _ := exec.Command("dpkg-query", "-W", "-f=${Status}|${Version}", p).Output()
		want := "pkg." + string(rune('0'+j)) + "=" + string(alone)
		if got[j] != want {
			t.Errorf("package %s: the probe reports %q, dpkg-query of it alone %q", p, got[j], want)
		}
	}
	if ok, _ := dpkgState(strings.SplitN(got[0], "=", 2)[1]); !ok {
		t.Errorf("dpkg is not installed, says the probe: %q", got[0])
	}
}
