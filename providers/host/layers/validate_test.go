package layers

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSchemasDefaultsConform(t *testing.T) {
	s := Schemas()
	for _, k := range []string{"apt", "anaconda", "docker", "docker_compose", "file", "shell"} {
		ls, ok := s[k]
		if !ok {
			t.Fatalf("Schemas() has no %q", k)
		}
		for name, a := range ls.Attributes {
			if a.Required == a.Optional {
				t.Errorf("%s.%s: exactly one of Required and Optional must be set", k, name)
			}
			if a.Default != cty.NilVal && !a.Default.Type().Equals(a.Type) {
				t.Errorf("%s.%s: default of type %s, attribute is %s", k, name, a.Default.Type().FriendlyName(), a.Type.FriendlyName())
			}
			if a.Default != cty.NilVal && a.Validate != nil {
				if err := a.Validate(a.Default); err != nil {
					t.Errorf("%s.%s: default does not validate: %v", k, name, err)
				}
			}
			if a.Description == "" {
				t.Errorf("%s.%s: no description", k, name)
			}
		}
	}
}

func TestValidation(t *testing.T) {
	s := Schemas()
	str := cty.StringVal
	list := func(v ...string) cty.Value {
		var vals []cty.Value
		for _, x := range v {
			vals = append(vals, cty.StringVal(x))
		}
		return cty.ListVal(vals)
	}
	tests := []struct {
		kind, attr string
		val        cty.Value
		ok         bool
	}{
		{"docker_compose", "version", str("v2.5.0"), true},
		{"docker_compose", "version", str("1.29.2"), true},
		{"docker_compose", "version", str("v2.5.0-rc.1+build_7"), true},
		{"docker_compose", "version", str("v2; rm -rf ~"), false},
		{"docker_compose", "version", str("v2 5"), false},
		{"docker_compose", "version", str("$(id)"), false},
		{"docker_compose", "version", str(""), false},
		{"docker_compose", "url", str("https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64"), true},
		{"docker_compose", "url", str("http://127.0.0.1:8080/x?y=1&z=2"), true},
		{"docker_compose", "url", str("ftp://example.com/x"), false},
		{"docker_compose", "url", str("file:///etc/passwd"), false},
		{"docker_compose", "url", str("https://x/ y"), false},
		{"docker_compose", "url", str("https://x/'; rm -rf ~; '"), false},
		{"docker_compose", "url", str("https://x/\"y"), false},
		{"docker_compose", "url", str("https://x/`id`"), false},
		{"docker_compose", "url", str("https://x/\ny"), false},
		{"docker_compose", "url", str("-o/etc/passwd"), false},
		{"docker_compose", "dir", str("~/soft"), true},
		{"docker_compose", "dir", str("/usr/local/bin"), true},
		{"docker_compose", "dir", str("soft"), false},
		{"docker_compose", "dir", str("~root/bin"), false},
		{"docker_compose", "dir", str("~/a:b"), false},
		{"docker_compose", "dir", str("~/a\nb"), false},
		{"docker_compose", "sha256", str(strings.Repeat("aB", 32)), true},
		{"docker_compose", "sha256", str(strings.Repeat("a", 63)), false},
		{"docker_compose", "sha256", str(strings.Repeat("g", 64)), false},
		{"apt", "packages", list("git", "make", "docker.io", "g++", "libc6=2.35-0ubuntu3.1"), true},
		{"apt", "packages", list("git", "make; reboot"), false},
		{"apt", "packages", list("-oAPT::x=y"), false},
		{"apt", "packages", list("Git"), false},
		{"apt", "packages", list("a"), false},
		{"apt", "packages", list("ok", "bad pkg"), false},
		{"docker", "package", str("docker-ce"), true},
		{"docker", "package", str("docker.io && id"), false},
		{"docker", "users", list("ubuntu", "_svc", "machine$", "a-b_c1"), true},
		{"docker", "users", list("root;id"), false},
		{"docker", "users", list("Ubuntu"), false},
		{"docker", "users", list("-r"), false},
		{"docker", "users", list(strings.Repeat("a", 33)), false},
		{"anaconda", "installer", str("https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh"), true},
		{"anaconda", "installer", str("https://repo.anaconda.com/$(id).sh"), true}, // $ is legal in a URL; quoting keeps it literal
		{"anaconda", "prefix", str("~/anaconda3"), true},
		{"anaconda", "prefix", str("/opt/conda"), true},
		{"anaconda", "prefix", str("anaconda3"), false},
		{"anaconda", "prefix", str("/opt/x\x00y"), false},
		{"file", "destination", str("~/.config/mlops/env"), true},
		{"file", "destination", str("~/"), false},
		{"file", "destination", str("~"), false},
		{"file", "destination", str("/etc/"), false},
		{"file", "mode", str("0644"), true},
		{"file", "mode", str("755"), true},
		{"file", "mode", str("04755"), true},
		{"file", "mode", str("0844"), false},
		{"file", "mode", str("rw-r--r--"), false},
		{"file", "mode", str("0644; id"), false},
		{"shell", "check", str("docker info >/dev/null 2>&1"), true},
		{"shell", "run", str("  "), false},
	}
	for _, tt := range tests {
		a := s[tt.kind].Attributes[tt.attr]
		if a == nil || a.Validate == nil {
			t.Fatalf("%s.%s has no Validate", tt.kind, tt.attr)
		}
		err := a.Validate(tt.val)
		if (err == nil) != tt.ok {
			t.Errorf("%s.%s = %#v: err = %v, want ok %v", tt.kind, tt.attr, tt.val, err, tt.ok)
		}
	}
}

// TestEngineRevalidates checks that a hostile value that bypassed the config
// loader never reaches a script.
func TestEngineRevalidates(t *testing.T) {
	cfg := composeConfig("v2; rm -rf ~", "https://example.invalid/x", "", true)
	_, err := decode("docker_compose", cfg)
	if err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("decode of a hostile version: err = %v", err)
	}
	if _, err := decode("nope", cfg); err == nil {
		t.Fatal("decode of an unknown kind succeeded")
	}
}
