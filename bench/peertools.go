package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// The peers' pinned versions. ansible-core and pyinfra come from
// bench/requirements.txt (with every dependency); OpenTofu from the Go module
// proxy.
const (
	tofuModule  = "github.com/opentofu/opentofu"
	tofuVersion = "v1.12.6"
)

// peerInstall is where the peers live once installed: a Python venv with
// ansible-core, pyinfra and matplotlib, and an OpenTofu binary, both under
// the harness's cache directory (.cache/, which git ignores and CI keeps
// between runs on one machine).
type peerInstall struct {
	venv string // .cache/bench-venv
	tofu string // the tofu binary, "" when it could not be built
	// tofuSkip says why OpenTofu is not measured, "" when it is.
	tofuSkip string
	// mitogen is the directory of Mitogen's Ansible strategy plugins when
	// Mitogen is installed in the venv (bench/requirements.txt), else "";
	// mitogenSkip says why not.
	mitogen, mitogenSkip string
	versions             map[string]string // tool -> version line, for the report
}

func (p *peerInstall) bin(name string) string { return filepath.Join(p.venv, "bin", name) }

// ensurePeers installs the peers where they are missing and is quick when
// they are there: the venv is rebuilt when bench/requirements.txt changed,
// OpenTofu is built once per pinned version. A tool that cannot be installed
// is an error, except OpenTofu, which is then skipped with the reason.
func ensurePeers(root string, withTofu bool, logf func(string, ...any)) (*peerInstall, error) {
	cache, err := testworld.CacheDir()
	if err != nil {
		return nil, err
	}
	p := &peerInstall{venv: filepath.Join(cache, "bench-venv"), versions: map[string]string{}}
	reqs := filepath.Join(root, "bench", "requirements.txt")
	want, err := os.ReadFile(reqs)
	if err != nil {
		return nil, err
	}
	stamp := filepath.Join(p.venv, ".requirements")
	if have, err := os.ReadFile(stamp); err != nil || !bytes.Equal(have, want) {
		start := time.Now()
		logf("installing the peers into %s (python3 -m venv, pip install -r bench/requirements.txt)", p.venv)
		for _, c := range [][]string{
			{"python3", "-m", "venv", p.venv},
			{p.bin("pip"), "install", "-q", "--disable-pip-version-check", "-r", reqs},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, tail(string(out), 3000))
			}
		}
		if err := os.WriteFile(stamp, want, 0o644); err != nil {
			return nil, err
		}
		logf("peers installed in %v", time.Since(start).Round(time.Second))
	}
	for tool, c := range map[string][]string{
		"Ansible": {p.bin("ansible-playbook"), "--version"},
		"pyinfra": {p.bin("pyinfra"), "--version"},
		"Python":  {p.bin("python"), "--version"},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		p.versions[tool] = strings.TrimSpace(line)
	}
	if out, err := exec.Command("ssh", "-V").CombinedOutput(); err == nil {
		p.versions["OpenSSH client (Ansible's transport)"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(p.bin("python"), "-c", "import paramiko; print(paramiko.__version__)").Output(); err == nil {
		p.versions["paramiko (pyinfra's transport)"] = "paramiko " + strings.TrimSpace(string(out))
	}

	if out, err := exec.Command(p.bin("python"), "-c",
		"import os, ansible_mitogen, mitogen; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins', 'strategy')); print('.'.join(map(str, mitogen.__version__)))").Output(); err == nil {
		lines := strings.Fields(string(out))
		p.mitogen = lines[0]
		if len(lines) > 1 {
			p.versions["Mitogen"] = "mitogen " + lines[1]
		}
	} else {
		p.mitogenSkip = "Mitogen is not in bench/requirements.txt"
	}

	if !withTofu {
		p.tofuSkip = "not asked for (-tools)"
		return p, nil
	}
	p.tofu, p.tofuSkip = ensureTofu(filepath.Join(cache, "bench-bin"), logf)
	if p.tofu != "" {
		cmd := exec.Command(p.tofu, "version")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1"}
		out, err := cmd.Output()
		line, _, _ := strings.Cut(string(out), "\n")
		if err != nil || !strings.HasPrefix(line, "OpenTofu "+tofuVersion) {
			p.tofu, p.tofuSkip = "", fmt.Sprintf("the built tofu does not report %s: %q %v", tofuVersion, line, err)
		} else {
			p.versions["OpenTofu"] = strings.TrimSpace(line)
		}
	}
	return p, nil
}

// ensureTofu builds OpenTofu from the Go module proxy into dir, once per
// pinned version, and returns the binary, or "" and why it could not.
//
// `go install github.com/opentofu/opentofu/cmd/tofu@VERSION` refuses to
// build it: OpenTofu's go.mod has a replace directive (hashicorp/hcl/v2 =>
// its fork opentofu/hcl/v2), and go install ignores replace directives, so
// it stops rather than build something else. The bench therefore downloads
// the module from the proxy (go mod download) and builds cmd/tofu inside it,
// as OpenTofu's release build does, replace included, with the same
// version flag (version.dev=no: no "-dev" suffix). The first build takes
// about ten minutes on 2 CPUs.
func ensureTofu(dir string, logf func(string, ...any)) (bin, skip string) {
	bin = filepath.Join(dir, "tofu-"+tofuVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err.Error()
	}
	start := time.Now()
	logf("building OpenTofu %s from the Go module proxy (once; about ten minutes)", tofuVersion)
	out, err := exec.Command("go", "mod", "download", "-json", tofuModule+"@"+tofuVersion).Output()
	var mod struct{ Dir, Error string }
	if err != nil || json.Unmarshal(out, &mod) != nil || mod.Dir == "" {
		return "", fmt.Sprintf("go mod download %s@%s failed: %v %s", tofuModule, tofuVersion, err, mod.Error)
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X "+tofuModule+"/version.dev=no", "-o", tmp, "./cmd/tofu")
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Sprintf("go build ./cmd/tofu in %s@%s failed: %v: %s", tofuModule, tofuVersion, err,
			strings.TrimSpace(tail(string(out), 1500)))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err.Error()
	}
	logf("OpenTofu built in %v", time.Since(start).Round(time.Second))
	return bin, ""
}
