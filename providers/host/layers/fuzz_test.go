package layers

import (
	"encoding/base64"
	"fmt"
	"testing"
)

// FuzzParseProbe feeds arbitrary bytes to the probe-output parser: it must
// never panic, and whatever it accepts must have a complete section for
// every layer.
func FuzzParseProbe(f *testing.F) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	good := fmt.Sprintf("banner\n@@mlops:n 0 begin \n@@mlops:n 0 version %s\n@@mlops:n 0 end %s\n@@mlops:n 1 begin \n@@mlops:n 1 end %s\n",
		b64("v2.5.0"), b64("0"), b64("1"))
	f.Add([]byte(good), 2)
	f.Add([]byte("@@mlops:n 0 begin \n@@mlops:n 0 end x\n"), 1)
	f.Add([]byte("@@mlops:n 7 begin \n"), 1)
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
