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
