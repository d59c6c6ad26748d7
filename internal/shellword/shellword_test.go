package shellword

import (
	"os/exec"
	"testing"
)

// TestQuoteIsOneWord: bash reads each quoted value back as exactly one
// word, equal to the value.
func TestQuoteIsOneWord(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `a "b" $c`, "'; rm -rf / #", "x\ny", `\'`} {
		out, err := exec.Command("bash", "-c", "printf '%s|' "+Quote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != s+"|" {
			t.Errorf("Quote(%q) reads back as %q", s, got)
		}
	}
}
