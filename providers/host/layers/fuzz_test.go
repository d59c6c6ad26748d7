package layers

import (
	"strings"
	"testing"
)

// FuzzParseProbe feeds arbitrary bytes to the probe-output parser: it must
// never panic, and whatever it accepts must have a complete section for
// every layer.
func FuzzParseProbe(f *testing.F) {
	good := "banner\n" + factLine("n", 0, "begin", "") + "\n" + factLine("n", 0, "version", "v2.5.0\nx") + "\n" +
		factLine("n", 0, "end", "0") + "\n" + factLine("n", 1, "begin", "") + "\n" + factLine("n", 1, "end", "1") + "\n"
	f.Add([]byte(good), 2)
	f.Add([]byte(factLine("n", 0, "begin", "")+"\n"+factLine("n", 0, "end", "x")+"\n"), 1)
	f.Add([]byte("@@mlops:n 0 begin 0 \n@@mlops:n 0 v 3 ab\n@@mlops:n 0 end 1 0\n"), 1)
	f.Add([]byte("@@mlops:n 7 begin 0 \n"), 1)
	f.Add([]byte(""), 0)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		res, err := parseProbe("n", n, out)
		if err != nil {
			return
		}
		if len(res) != n {
			t.Fatalf("accepted output with %d sections for %d layers", len(res), n)
		}
		for i, r := range res {
			if !r.ended {
				t.Fatalf("accepted output where layer %d has no end", i)
			}
		}
	})
}

// FuzzProbeRoundTrip renders facts the way __mlops_fact prints them, with
// stray output between the records, and checks that the parser gives back
// exactly those facts: no value, whatever its bytes, is taken for a record
// or changes on the way.
func FuzzProbeRoundTrip(f *testing.F) {
	f.Add("v2.5.0", "install ok installed|1:2.39\nsecond", "banner")
	f.Add("", "\n@@mlops:n 0 end 1 0\n", "@@mlops:n 0 x 1 y")
	f.Add("\xff\xfe", "\r\n \r", "\x00")
	f.Fuzz(func(t *testing.T, a, b, stray string) {
		// Stray output never holds the nonce (probed commands print into
		// their facts' values or to /dev/null; what reaches stdout otherwise
		// is a banner or a message).
		for strings.Contains(stray, "@@mlops:n ") {
			stray = strings.ReplaceAll(stray, "@@mlops:n ", "")
		}
		want := []facts{{"a": a, "b": b}, {"b": b}}
		var out strings.Builder
		for i, fs := range want {
			out.WriteString(stray)
			out.WriteString(factLine("n", i, "begin", "") + "\n")
			for _, k := range []string{"a", "b"} {
				if v, ok := fs[k]; ok {
					out.WriteString(factLine("n", i, k, v) + "\n")
				}
			}
			out.WriteString(factLine("n", i, "end", "0") + "\n")
		}
		res, err := parseProbe("n", len(want), []byte(out.String()))
		if err != nil {
			t.Fatalf("parseProbe: %v\n%q", err, out.String())
		}
		for i, r := range res {
			if len(r.facts) != len(want[i]) {
				t.Fatalf("layer %d: facts %q, want %q", i, r.facts, want[i])
			}
			for k, v := range want[i] {
				if r.facts[k] != v {
					t.Fatalf("layer %d: fact %s = %q, want %q", i, k, r.facts[k], v)
				}
			}
		}
	})
}
