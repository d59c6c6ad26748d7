package command

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestFmtDiffGolden pins what `mlops fmt -check -diff` prints for each
// testdata/fmt/NAME.hcl in testdata/fmt/NAME.diff: the file name, then a
// unified diff with hunks and 3 lines of context. A file already in
// canonical style prints nothing. Where GNU diff is installed, the output
// must equal `diff -u` of the file and its formatted version; where patch is
// installed, the diff must turn the file into its formatted version.
// Regenerate with: go test ./internal/command -run FmtDiff -update
func TestFmtDiffGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "fmt", "*.hcl"))
	if len(inputs) < 3 {
		t.Fatalf("want at least 3 inputs in testdata/fmt, found %d", len(inputs))
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".hcl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, filepath.Base(in))
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			d, out, errb := testDeps(t, dir)
			code := Main([]string{"fmt", "-check", "-diff"}, d)
			if errb.Len() > 0 {
				t.Fatalf("stderr: %s", errb)
			}
			printed := out.String()
			goldenFile(t, filepath.Join("testdata", "fmt", name+".diff"), printed)
			if printed == "" {
				if code != 0 {
					t.Errorf("no diff but exit %d", code)
				}
				return
			}
			if code != 3 {
				t.Errorf("fmt -check -diff exit %d, want 3", code)
			}
			after, _ := os.ReadFile(file)
			if string(after) != string(src) {
				t.Fatalf("fmt -check rewrote the file")
			}
			// What fmt without -check would write.
			if c := Main([]string{"fmt"}, d); c != 0 {
				t.Fatalf("fmt exit %d", c)
			}
			formatted, _ := os.ReadFile(file)
			diff := strings.TrimPrefix(printed, filepath.Base(in)+"\n")
			if _, err := exec.LookPath("diff"); err == nil {
				orig := filepath.Join(dir, "orig")
				os.WriteFile(orig, src, 0o644)
				label := filepath.Base(in)
				gnu, _ := exec.Command("diff", "-u", "--label", "a/"+label, "--label", "b/"+label, orig, file).Output()
				if d := cmp.Diff(string(gnu), diff); d != "" {
					t.Errorf("fmt -diff differs from diff -u (-diff +fmt):\n%s", d)
				}
			}
			if _, err := exec.LookPath("patch"); err == nil {
				target := filepath.Join(dir, "patched")
				os.WriteFile(target, src, 0o644)
				cmd := exec.Command("patch", "-s", target)
				cmd.Stdin = strings.NewReader(diff)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("patch refused the diff: %v\n%s\n%s", err, b, diff)
				}
				patched, _ := os.ReadFile(target)
				if string(patched) != string(formatted) {
					t.Errorf("patched file:\n%s\nwant the formatted file:\n%s", patched, formatted)
				}
			}
		})
	}
}

// goldenFile compares got with the file at path, or rewrites it with -update.
func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +got); if the change is intended, run with -update:\n%s", path, d)
	}
}
