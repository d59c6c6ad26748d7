package layers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestIdleStopConfQuoted: the agent's settings file, sourced by bash, gives
// back every value byte for byte, hostile ones included.
func TestIdleStopConfQuoted(t *testing.T) {
	hostile := []string{`python .*train`, `x'; touch /tmp/pwned; echo '`, `$(id) "q" \ back`}
	s, err := decode("idle_stop", layerConfig("idle_stop", map[string]cty.Value{
		"after": cty.StringVal("2h"), "processes": strList(hostile...), "keep_awake": cty.StringVal(`test -e "$HOME/keep" && echo '$x'`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "idle-stop.conf")
	if err := os.WriteFile(conf, []byte(s.(*idleStopSpec).conf()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", `. "$1"; printf '%s\n' "$AFTER" "$WARN_BEFORE" "$CPU_PERCENT" "$KEEP_AWAKE" "$STOP_COMMAND" "${PROCESSES[@]}"`, "bash", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := append([]string{"7200", "300", "30", `test -e "$HOME/keep" && echo '$x'`, "shutdown -h now"}, hostile...)
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sourced settings:\n got %q\nwant %q", got, want)
	}
}

func TestIdleStopValidation(t *testing.T) {
	ls := Schemas()["idle_stop"]
	for attr, v := range map[string]cty.Value{
		"after":       cty.StringVal("soon"),
		"warn_before": cty.StringVal("-5m"),
		"cpu_percent": cty.NumberIntVal(150),
		"processes":   strList("python (train"),
	} {
		if err := ls.Attributes[attr].Validate(v); err == nil {
			t.Errorf("%s = %#v accepted", attr, v)
		}
	}
}

// TestIdleStopUnitsVerify: the systemd units the layer writes on a real
// Ubuntu host (systemd is PID 1 there, and in no sandbox host) pass
// systemd-analyze verify, for the default check interval and an odd one:
// no parse warning, no bad setting.
func TestIdleStopUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("MLOPS_REQUIRE_SANDBOX") == "1" {
			t.Fatalf("systemd-analyze is missing (scripts/setup installs systemd): %v", err)
		}
		t.Skipf("systemd-analyze is missing: %v", err)
	}
	for _, every := range []string{"1m", "90s"} {
		s, err := decode("idle_stop", layerConfig("idle_stop", map[string]cty.Value{"check_every": cty.StringVal(every)}))
		if err != nil {
			t.Fatal(err)
		}
		service, timer := s.(*idleStopSpec).units()
		root := t.TempDir()
		unitDir := filepath.Join(root, "etc", "systemd", "system")
		// The modes the layer's apply script gives them.
		for _, f := range []struct {
			path, content string
			mode          os.FileMode
		}{
			{filepath.Join(unitDir, idleStopUnit+".service"), service, 0o644},
			{filepath.Join(unitDir, idleStopUnit+".timer"), timer, 0o644},
			{filepath.Join(root, idleStopScript), "#!/bin/bash\n", 0o755},
		} {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path, []byte(f.content), f.mode); err != nil {
				t.Fatal(err)
			}
		}
		// --recursive-errors=no: the units' own settings, not the
		// dependencies (timers.target) this scratch root lacks.
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", "--recursive-errors=no", "--root="+root,
			"/etc/systemd/system/"+idleStopUnit+".timer", "/etc/systemd/system/"+idleStopUnit+".service").CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("check_every %s: systemd-analyze verify: %v\n%s\nservice:\n%s\ntimer:\n%s", every, err, out, service, timer)
		}
	}
}
