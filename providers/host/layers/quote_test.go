package layers

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// hostile are strings that would break out of naive quoting.
var hostile = []string{
	"",
	"plain",
	"two words",
	"it's",
	"'",
	"''",
	`'\''`,
	`"double" and \backslash\`,
	"$HOME and ${HOME} and $(id) and `id`",
	"v2; rm -rf ~",
	"a\nb\n",
	"tab\there",
	"!history !! and ^caret",
	"* ? [a-z] {a,b} ~ ~root",
	"; | & && || > < >> 2>&1",
	"-n",
	"--",
	"trailing backslash\\",
	"émoji 🐳 ünïcode",
	"\x01\x7f control",
	"# not a comment",
	"$'\\x41'",
}

// bashPrintf runs `bash -c "printf %s WORD"` with a fixed environment and
// returns what bash printed.
func bashPrintf(t *testing.T, word string, env ...string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", "printf %s "+word)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash -c 'printf %%s %s': %v", word, err)
	}
	return string(out)
}

func TestQuoteRoundTripsThroughBash(t *testing.T) {
	for _, s := range hostile {
		if got := bashPrintf(t, quote(s)); got != s {
			t.Errorf("quote(%q) = %s; bash printed %q", s, quote(s), got)
		}
	}
}

func TestShPathExpandsHomeOnly(t *testing.T) {
	home := "/home/some user"
	for _, rest := range hostile {
		if strings.ContainsAny(rest, "\x00") || rest == "" {
			continue
		}
		p := "~/" + rest
		want := home + "/" + strings.TrimLeft(rest, "/")
		if got := bashPrintf(t, shPath(p), "HOME="+home); got != want {
			t.Errorf("shPath(%q) = %s; bash printed %q, want %q", p, shPath(p), got, want)
		}
		abs := "/opt/" + rest
		if got := bashPrintf(t, shPath(abs), "HOME="+home); got != abs {
			t.Errorf("shPath(%q) = %s; bash printed %q", abs, shPath(abs), got)
		}
	}
	if got := bashPrintf(t, shPath("~"), "HOME="+home); got != home {
		t.Errorf("shPath(~): bash printed %q", got)
	}
}

func TestDquoteEscape(t *testing.T) {
	for _, s := range hostile {
		if got := bashPrintf(t, `"`+dquoteEscape(s)+`"`); got != s {
			t.Errorf("dquoteEscape(%q) = %s; bash printed %q", s, dquoteEscape(s), got)
		}
	}
}

func TestParentPath(t *testing.T) {
	for in, want := range map[string]string{
		"~/.config/mlops/env": "~/.config/mlops",
		"~/x":                 "~",
		"/etc/x":              "/etc",
		"/x":                  "/",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}
