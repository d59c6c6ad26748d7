package config

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deep nests n parentheses around 1.
func deep(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }

// TestNestingLimit: input that nests deeper than MaxNesting is refused
// with a diagnostic before the recursive parser sees it (100k levels used
// to overflow the stack and kill the process), in every place HCL is
// parsed; ordinary nesting passes.
func TestNestingLimit(t *testing.T) {
	const n, m = 100_000, 5_000
	dir := t.TempDir()
	write(t, dir, "main.hcl", `variable "v" {
  type    = number
  default = 1
}
`)
	varFile := filepath.Join(dir, "deep.vars")
	write(t, dir, "deep.vars", "v = "+deep(n)+"\n")

	cases := []struct {
		name string
		src  string
		opts func(*LoadOptions)
		want string
	}{
		{"file parentheses", "locals {\n  x = " + deep(n) + "\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"file brackets", "locals {\n  x = " + strings.Repeat("[", m) + strings.Repeat("]", m) + "\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"file objects", "locals {\n  x = " + strings.Repeat("{a=", m) + "1" + strings.Repeat("}", m) + "\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"file unary", "locals {\n  x = " + strings.Repeat("!", m) + "true\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"file unary in parentheses across lines", "locals {\n  x = (" + strings.Repeat("-\n", m) + "1)\n}\n", nil, "main.hcl:260: Nesting too deep"},
		{"file conditionals", "locals {\n  x = " + strings.Repeat("true ? 1 : ", m) + "2\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"file interpolations", "locals {\n  x = \"" + strings.Repeat("${\"", m) + strings.Repeat("\"}", m) + "\"\n}\n", nil, "main.hcl:6: Nesting too deep"},
		{"-var", "", func(o *LoadOptions) { o.Vars = []string{"v=" + deep(m)} }, "-: Invalid value for variable"},
		{"MLOPS_VAR_", "", func(o *LoadOptions) { o.Env = append(o.Env, "MLOPS_VAR_v="+deep(m)) }, "-: Invalid value for variable"},
		{"-var-file", "", func(o *LoadOptions) { o.VarFiles = []string{varFile} }, "deep.vars:1: Nesting too deep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string][]byte{filepath.Join(dir, "main.hcl"): []byte(`variable "v" {
  type    = number
  default = 1
}
` + c.src)}
			opts := testOpts()
			if c.opts != nil {
				c.opts(&opts)
			}
			_, diags := LoadFiles(dir, files, opts)
			got := strings.Join(diagLines(diags), "\n")
			if !strings.Contains(got, c.want) {
				t.Errorf("diagnostics:\n%s\nwant %q", got, c.want)
			}
		})
	}
	// What people write nests a few levels and passes.
	mustLoad(t, `locals {
  a = [for x in [1, 2] : { v = (x + 1) * -2, s = "${x > 1 ? "big" : "small"}-${!true}" }]
  b = true ? (false ? 1 : 2) : 3
  c = [-1, -2, -3, -4, -5]
}
`, testOpts())
	// Many items, each with unary operators and conditionals, in one
	// block and in one list do not add up.
	many := "locals {\n"
	for i := 0; i < 400; i++ {
		many += "  l" + strconv.Itoa(i) + " = true ? -1 : -2\n"
	}
	many += "  list = [" + strings.Repeat("-1, ", 400) + "-1]\n}\n"
	mustLoad(t, many, testOpts())
}

// TestFileFunctionLimits: file() reads only regular files up to
// MaxFileSize; a device, a FIFO (which would block) and a directory are
// refused by name, with the file:line of the call.
func TestFileFunctionLimits(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(MaxFileSize + 1)
	f.Close()
	for path, want := range map[string]string{
		"/dev/zero": "it is not a regular file (a character device)",
		fifo:        "it is not a regular file (a named pipe)",
		dir:         "it is not a regular file (a directory)",
		big:         "more than the limit of",
	} {
		done := make(chan struct{})
		var got string
		go func() {
			defer close(done)
			_, diags := loadSrc(t, "locals {\n  x = file(\""+path+"\")\n}\n", testOpts())
			got = strings.Join(diagLines(diags), "\n") + "\n" + renderDiags(diags)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("file(%q) did not return", path)
		}
		if !strings.Contains(got, "main.hcl:2:") || !strings.Contains(got, want) {
			t.Errorf("file(%q):\n%s\nwant %q", path, got, want)
		}
	}
}

// TestReadSourceInterrupted: a variables file that is a FIFO nobody
// writes blocks in open; cancelling the context ends the load at once.
func TestReadSourceInterrupted(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.hcl", "variable \"v\" {\n  default = 1\n}\n")
	fifo := filepath.Join(dir, "vars.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	opts := testOpts()
	opts.Context = ctx
	opts.VarFiles = []string{fifo}
	start := time.Now()
	_, diags := Load(dir, opts)
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Load took %v after the cancel", el)
	}
	if got := renderDiags(diags); !strings.Contains(got, "interrupted while reading it") {
		t.Fatalf("diagnostics:\n%s", got)
	}
}

// TestSSHSettingsCheckedOffline: ssh user, host, host_key and private_key
// values that can never work are reported with their file and line.
func TestSSHSettingsCheckedOffline(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ attr, value, want string }{
		{"user", "-oProxyCommand=x", "Invalid ssh user"},
		{"user", "ubu ntu", "Invalid ssh user"},
		{"host", "-oProxyCommand=touch /tmp/x", "Invalid ssh host"},
		{"host", "exa mple.com", "Invalid ssh host"},
		{"host", "", "Invalid ssh host"},
		{"host_key", "ssh-ed25519 AAAA", "Invalid ssh host key"},
		{"host_key", "not a key", "Invalid ssh host key"},
		{"private_key", dir, "Invalid ssh private key"},
	} {
		src := "resource \"host\" \"h\" {\n  ssh {\n    host = \"10.0.0.1\"\n    " + c.attr + " = " + strconv.Quote(c.value) + "\n  }\n}\n"
		if c.attr == "host" {
			src = "resource \"host\" \"h\" {\n  ssh {\n    user = \"ubuntu\"\n    host = " + strconv.Quote(c.value) + "\n  }\n}\n"
		}
		_, diags := loadSrc(t, src, testOpts())
		got := strings.Join(diagLines(diags), "\n")
		if !strings.Contains(got, "main.hcl:4: "+c.want) {
			t.Errorf("%s = %q: %s", c.attr, c.value, got)
		}
	}
	mustLoad(t, `resource "host" "h" {
  ssh {
    host        = "gpu-1.lab.example.com"
    user        = "ubuntu"
    private_key = "~/.ssh/not-yet-created.pem"
  }
}
resource "host" "v6" {
  ssh { host = "::1" }
}
`, testOpts())
}
