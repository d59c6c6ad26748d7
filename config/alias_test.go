package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

// TestSSHAlias: an alias becomes a Host line of an OpenSSH client
// configuration, so only plain names pass; anything that could add options,
// patterns or tokens is a diagnostic at its line, at load time.
func TestSSHAlias(t *testing.T) {
	src := func(alias string) string {
		return `
resource "host" "h" {
  ssh {
    host  = "10.0.0.1"
    alias = ` + alias + `
  }
}
`
	}
	for _, ok := range []string{"mlops-zoomcamp", "gpu.lab", "A_1", strings.Repeat("x", 64)} {
		c := mustLoad(t, src(`"`+ok+`"`), testOpts())
		got, diags := c.EvalSSH(managed("host", "h"), nil, cty.NilVal)
		if len(diags) > 0 || got.Alias != ok || !got.Known {
			t.Errorf("alias %q: got %q known=%v, diags %s", ok, got.Alias, got.Known, renderDiags(diags))
		}
	}
	hostile := []string{
		`""`,
		`"two words"`,
		`"evil\n  ProxyCommand touch /tmp/pwned"`,
		`"*"`,
		`"web?"`,
		`"!gpu"`,
		`"%h"`,
		`"-oProxyCommand=x"`,
		`"quo\"te"`,
		`"${"x"}${join("", [for i in range(100) : "y"])}"`,
		`"ümlaut"`,
	}
	for _, h := range hostile {
		_, diags := loadSrc(t, src(h), testOpts())
		if d := cmp.Diff([]string{"main.hcl:5: Invalid ssh alias"}, diagLines(diags)); d != "" {
			t.Errorf("alias %s (-want +got):\n%s", h, d)
			continue
		}
		if detail := diags[0].Detail; len(detail) > 300 || strings.Contains(detail, "\n") {
			t.Errorf("alias %s: detail is long or multi-line: %q", h, detail)
		}
	}
}
