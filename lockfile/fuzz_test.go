package lockfile

import (
	"testing"
)

// FuzzParse: no input makes Parse panic, and a lock that parses renders to
// a file that parses to the same lock (what apply writes, plan reads back).
func FuzzParse(f *testing.F) {
	f.Add(sample().Bytes())
	f.Add([]byte("download \"u\" {\n  sha256 = \"x\"\n}\n"))
	f.Add([]byte("layer \"host.a.layer.apt\" {\n  packages = { \"libstdc++6\" = \"1.0\" }\n}\n"))
	f.Add([]byte("data \"aws_ami\" \"a\" {\n  id = \"ami-1\"\n  owners = [\"1\", \"2\"]\n  n = { a = [1, true] }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l, _, diags := Parse(src, FileName)
		if diags.HasErrors() {
			return
		}
		out := l.Bytes()
		again, _, diags := Parse(out, FileName)
		if diags.HasErrors() {
			t.Fatalf("a rendered lock does not parse: %s\n%s", diags.Error(), out)
		}
		if string(again.Bytes()) != string(out) {
			t.Fatalf("rendering is not stable:\n%s\n---\n%s", out, again.Bytes())
		}
	})
}
