package layers

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// The idle_stop layer installs a small agent that stops the machine from
// inside when nobody works on it: a bash script (idlestop-agent.sh), its
// settings, and what runs it every CHECK_EVERY: a systemd timer where
// systemd is PID 1, else a cron entry, else a background loop (containers
// and the test world's sandbox hosts, which have neither). It touches no
// Python environment and needs no AWS credentials: EC2 turns the shutdown
// into a stop because mlops launches instances with
// InstanceInitiatedShutdownBehavior = stop.

//go:embed idlestop-agent.sh
var idleStopAgent string

// Where the agent lives on the host.
const (
	idleStopScript   = "/usr/local/lib/mlops/idle-stop"
	idleStopConf     = "/etc/mlops/idle-stop.conf"
	idleStopStateDir = "/var/lib/mlops/idle-stop"
	idleStopLog      = "/var/log/mlops-idle-stop.log"
	idleStopPidfile  = "/run/mlops-idle-stop.pid"
	idleStopUnit     = "mlops-idle-stop"
	idleStopCron     = "/etc/cron.d/mlops-idle-stop"
)

func idleStopKind() kind {
	ls := &schema.Layer{
		Description: "Stops the machine from inside (shutdown -h) when nobody has worked on it for a while. A small agent (a bash script run by a systemd timer, a cron entry, or a loop where neither exists) decides on the host from real work, each signal switchable, and logs every decision with its reason to " + idleStopLog + ".",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"after": {
				Type: cty.String, Optional: true, Default: cty.StringVal("60m"), Validate: stringCheck(validateIdleDuration),
				Description: "How long the machine must be idle before it stops, such as \"60m\" or \"2h\".",
			},
			"warn_before": {
				Type: cty.String, Optional: true, Default: cty.StringVal("5m"), Validate: stringCheck(validateIdleDurationOrZero),
				Description: "Warn logged-in users (wall) this long before the stop; \"0s\" does not warn.",
			},
			"check_every": {
				Type: cty.String, Optional: true, Default: cty.StringVal("1m"), Validate: stringCheck(validateIdleDuration),
				Description: "How often the agent checks.",
			},
			"ssh_input": {
				Type: cty.Bool, Optional: true, Default: cty.True,
				Description: "Terminal input in SSH and IDE sessions counts as work (the terminal's last input, as `w` shows it); a session that is open but untouched does not.",
			},
			"jupyter": {
				Type: cty.Bool, Optional: true, Default: cty.True,
				Description: "Busy and recently active Jupyter kernels count as work, read from each running Jupyter server's kernel API with its token.",
			},
			"gpu_percent": {
				Type: cty.Number, Optional: true, Default: cty.NumberIntVal(10), Validate: validatePercent,
				Description: "GPU utilisation (nvidia-smi, when present) at or above this percentage counts as work; 0 switches it off.",
			},
			"cpu_percent": {
				Type: cty.Number, Optional: true, Default: cty.NumberIntVal(30), Validate: validatePercent,
				Description: "CPU use of all processes together, in percent of one CPU, at or above which the machine counts as working (a training run under nohup); 0 switches it off.",
			},
			"processes": {
				Type: cty.List(cty.String), Optional: true, Default: cty.ListValEmpty(cty.String), Validate: listCheck(validateProcessPattern),
				Description: "Extended regular expressions matched against command lines (pgrep -f), such as \"python .*train\": a matching process counts as work.",
			},
			"keep_awake": {
				Type: cty.String, Optional: true, Validate: stringCheck(validateNotEmpty),
				Description: "A command (bash -c, as root) that keeps the machine running while it exits 0.",
			},
			"stop_command": {
				Type: cty.String, Optional: true, Default: cty.StringVal("shutdown -h now"), Validate: stringCheck(validateNotEmpty),
				Description: "How the agent stops the machine. On EC2, shutdown -h stops the instance (mlops sets its shutdown behaviour to stop).",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &idleStopSpec{
			sshInput: a.boolean("ssh_input"), jupyter: a.boolean("jupyter"),
			processes: a.strings("processes"), keepAwake: a.str("keep_awake"), stopCommand: a.str("stop_command"),
		}
		s.after = seconds(&a, "after")
		s.warnBefore = seconds(&a, "warn_before")
		s.checkEvery = seconds(&a, "check_every")
		s.gpuPercent = wholeNumber(&a, "gpu_percent")
		s.cpuPercent = wholeNumber(&a, "cpu_percent")
		return s, a.err
	}}
}

func seconds(a *attrs, name string) int64 {
	s := a.str(name)
	if a.err != nil {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		a.fail("%s: %v", name, err)
	}
	return int64(d / time.Second)
}

func wholeNumber(a *attrs, name string) int64 {
	v := a.value(name)
	if v.IsNull() || v.Type() != cty.Number {
		return 0
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		a.fail("%s must be a whole number", name)
	}
	return i
}

func validateIdleDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return fmt.Errorf("%q is not a duration of at least a second, such as \"60m\" or \"2h\"", s)
	}
	return nil
}

func validateIdleDurationOrZero(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration, such as \"5m\" or \"0s\"", s)
	}
	return nil
}

func validatePercent(v cty.Value) error {
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		return nil
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || i < 0 || i > 100 {
		return fmt.Errorf("must be a whole number from 0 to 100, got %s", v.AsBigFloat().Text('g', -1))
	}
	return nil
}

func validateProcessPattern(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("a process pattern is empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%q contains a newline or another control character", s)
	}
	if _, err := regexp.CompilePOSIX(s); err != nil {
		return fmt.Errorf("%q is not an extended regular expression: %v", s, err)
	}
	return nil
}

type idleStopSpec struct {
	after, warnBefore, checkEvery int64
	sshInput, jupyter             bool
	gpuPercent, cpuPercent        int64
	processes                     []string
	keepAwake, stopCommand        string
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// conf renders the agent's settings as bash assignments, every value quoted.
func (s *idleStopSpec) conf() string {
	var b strings.Builder
	b.WriteString("# Written by mlops (layer idle_stop); changes here are undone by the next mlops apply.\n")
	fmt.Fprintf(&b, "AFTER=%d\nWARN_BEFORE=%d\nCHECK_EVERY=%d\n", s.after, s.warnBefore, s.checkEvery)
	fmt.Fprintf(&b, "SSH_INPUT=%s\nJUPYTER=%s\n", boolDigit(s.sshInput), boolDigit(s.jupyter))
	fmt.Fprintf(&b, "GPU_PERCENT=%d\nCPU_PERCENT=%d\n", s.gpuPercent, s.cpuPercent)
	b.WriteString("PROCESSES=(")
	for i, p := range s.processes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(p))
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "KEEP_AWAKE=%s\nSTOP_COMMAND=%s\n", quote(s.keepAwake), quote(s.stopCommand))
	return b.String()
}

// timer renders the systemd units.
func (s *idleStopSpec) units() (service, timer string) {
	service = "[Unit]\nDescription=mlops idle-stop check\n\n[Service]\nType=oneshot\nExecStart=" + idleStopScript + " check\n"
	timer = fmt.Sprintf("[Unit]\nDescription=mlops idle-stop check every %ds\n\n[Timer]\nOnBootSec=%ds\nOnUnitActiveSec=%ds\nAccuracySec=10s\n\n[Install]\nWantedBy=timers.target\n",
		s.checkEvery, s.checkEvery, s.checkEvery)
	return service, timer
}

// cron renders the cron entry (at most once a minute, cron's granularity).
func (s *idleStopSpec) cron() string {
	every := s.checkEvery / 60
	sched := "* * * * *"
	if every > 1 && every < 60 {
		sched = "*/" + strconv.FormatInt(every, 10) + " * * * *"
	}
	return "# Written by mlops (layer idle_stop).\n" + sched + " root " + idleStopScript + " check >/dev/null 2>&1\n"
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (s *idleStopSpec) probe(w *script) {
	w.line(`__mlops_sum() { if [ -r "$1" ]; then local x; x=$(sha256sum <"$1"); echo "${x%% *}"; fi; }`)
	w.fact("script", `"$(__mlops_sum `+quote(idleStopScript)+`)"`)
	w.fact("conf", `"$(__mlops_sum `+quote(idleStopConf)+`)"`)
	w.line(`if [ -d /run/systemd/system ]; then`)
	w.line(`  __mlops_fact runner systemd`)
	w.line(`  __mlops_fact timer "$(__mlops_sum /etc/systemd/system/` + idleStopUnit + `.timer)"`)
	w.line(`  __mlops_fact service "$(__mlops_sum /etc/systemd/system/` + idleStopUnit + `.service)"`)
	w.flag("running", `systemctl is-active --quiet `+idleStopUnit+`.timer && systemctl is-enabled --quiet `+idleStopUnit+`.timer`)
	w.line(`elif [ -d /etc/cron.d ] && command -v cron >/dev/null 2>&1; then`)
	w.line(`  __mlops_fact runner cron`)
	w.line(`  __mlops_fact cron "$(__mlops_sum ` + quote(idleStopCron) + `)"`)
	w.flag("running", `pgrep -x cron >/dev/null 2>&1`)
	w.line(`else`)
	w.line(`  __mlops_fact runner loop`)
	w.line(`  pid=$(cat ` + quote(idleStopPidfile) + ` 2>/dev/null)`)
	w.flag("running", `[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'idle-stop loop'`)
	w.line(`fi`)
	// The agent's last decision, for mlops status.
	w.fact("status", `"$(cat `+quote(idleStopStateDir+"/status")+` 2>/dev/null)"`)
	w.fact("recent", `"$(tail -n 3 `+quote(idleStopLog)+` 2>/dev/null)"`)
	w.fact("now", `"$(date +%s)"`)
}

func (s *idleStopSpec) status(f facts) status {
	st := status{present: f["script"] != ""}
	switch {
	case f["script"] == "":
		st.reasons = append(st.reasons, "idle-stop agent not installed")
	case f["script"] != sum(idleStopAgent):
		st.reasons = append(st.reasons, "idle-stop agent differs")
	}
	if f["script"] != "" && f["conf"] != sum(s.conf()) {
		st.reasons = append(st.reasons, "idle-stop settings differ")
	}
	service, timer := s.units()
	switch f["runner"] {
	case "systemd":
		if f["timer"] != sum(timer) || f["service"] != sum(service) {
			st.reasons = append(st.reasons, "systemd timer "+idleStopUnit+".timer missing or different")
		} else if !f.flag("running") {
			st.reasons = append(st.reasons, "systemd timer "+idleStopUnit+".timer not active")
		}
	case "cron":
		if f["cron"] != sum(s.cron()) {
			st.reasons = append(st.reasons, idleStopCron+" missing or different")
		} else if !f.flag("running") {
			st.reasons = append(st.reasons, "cron is not running")
		}
	default:
		if !f.flag("running") {
			st.reasons = append(st.reasons, "idle-stop loop not running (no systemd, no cron)")
		}
	}
	st.satisfied = len(st.reasons) == 0
	return st
}

// info is the agent's view for mlops status: its last decision and when.
func (s *idleStopSpec) info(f facts) string {
	fields := strings.SplitN(f["status"], "\t", 3)
	if len(fields) != 3 {
		if f["script"] == "" {
			return "idle-stop agent not installed"
		}
		return "idle-stop agent: no check yet"
	}
	checked, err1 := strconv.ParseInt(fields[0], 10, 64)
	now, err2 := strconv.ParseInt(f["now"], 10, 64)
	ago := ""
	if err1 == nil && err2 == nil && now >= checked {
		ago = fmt.Sprintf(" (checked %s ago)", (time.Duration(now-checked) * time.Second).String())
	}
	out := fields[1] + ": " + fields[2] + ago
	// The last decisions follow, one per line, as the log has them.
	if r := strings.TrimSpace(f["recent"]); r != "" {
		out += "\n" + r
	}
	return out
}

func (s *idleStopSpec) apply(w *script, f facts) {
	w.line(`__mlops_require_root`)
	w.line(`__mlops_put() { # FILE MODE BASE64`)
	w.line(`  local tmp; tmp=$(__mlops_root mktemp "$(dirname "$1")/.mlops.XXXXXX"); __mlops_tmps+=("$tmp")`)
	w.line(`  printf '%s' "$3" | base64 -d | __mlops_root tee -- "$tmp" >/dev/null`)
	w.line(`  __mlops_root chmod "$2" "$tmp"; __mlops_root mv -fT "$tmp" "$1"`)
	w.line(`}`)
	w.line(`__mlops_root mkdir -p /usr/local/lib/mlops /etc/mlops `, quote(idleStopStateDir))
	w.line(`__mlops_root chmod 0755 `, quote(idleStopStateDir))
	w.line(`__mlops_put `, quote(idleStopScript), ` 0755 `, quote(base64.StdEncoding.EncodeToString([]byte(idleStopAgent))))
	w.line(`__mlops_put `, quote(idleStopConf), ` 0644 `, quote(base64.StdEncoding.EncodeToString([]byte(s.conf()))))
	w.line(`__mlops_root touch `, quote(idleStopLog))
	w.line(`__mlops_root chmod 0644 `, quote(idleStopLog))
	service, timer := s.units()
	w.line(`if [ -d /run/systemd/system ]; then`)
	w.line(`  __mlops_put /etc/systemd/system/`+idleStopUnit+`.service 0644 `, quote(base64.StdEncoding.EncodeToString([]byte(service))))
	w.line(`  __mlops_put /etc/systemd/system/`+idleStopUnit+`.timer 0644 `, quote(base64.StdEncoding.EncodeToString([]byte(timer))))
	w.line(`  __mlops_root systemctl daemon-reload`)
	w.line(`  __mlops_root systemctl enable --now ` + idleStopUnit + `.timer`)
	w.line(`  __mlops_root systemctl restart ` + idleStopUnit + `.timer`)
	w.echo("idle-stop agent installed: systemd timer " + idleStopUnit + ".timer")
	w.line(`elif [ -d /etc/cron.d ] && command -v cron >/dev/null 2>&1; then`)
	w.line(`  __mlops_put `, quote(idleStopCron), ` 0644 `, quote(base64.StdEncoding.EncodeToString([]byte(s.cron()))))
	w.echo("idle-stop agent installed: cron entry " + idleStopCron)
	w.line(`else`)
	s.stopLoop(w)
	// setsid detaches the loop from this SSH session, which then ends.
	w.line(`  __mlops_root setsid -f `, quote(idleStopScript), ` loop </dev/null >/dev/null 2>&1`)
	w.line(`  for i in $(seq 50); do [ -s `, quote(idleStopPidfile), ` ] && break; sleep 0.1; done`)
	w.echo("idle-stop agent installed: no systemd and no cron here, so a background loop runs it (until the next boot)")
	w.line(`fi`)
}

// stopLoop writes the lines that end a running agent loop.
func (s *idleStopSpec) stopLoop(w *script) {
	w.line(`  pid=$(cat `, quote(idleStopPidfile), ` 2>/dev/null || true)`)
	w.line(`  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'idle-stop loop'; then __mlops_root kill "$pid" || true; fi`)
	w.line(`  __mlops_root rm -f `, quote(idleStopPidfile))
}

func (s *idleStopSpec) remove(w *script, others []spec) string {
	w.line(`__mlops_require_root`)
	w.line(`if [ -d /run/systemd/system ]; then`)
	w.line(`  __mlops_root systemctl disable --now ` + idleStopUnit + `.timer 2>/dev/null || true`)
	w.line(`  __mlops_root rm -f /etc/systemd/system/` + idleStopUnit + `.timer /etc/systemd/system/` + idleStopUnit + `.service`)
	w.line(`  __mlops_root systemctl daemon-reload`)
	w.line(`fi`)
	w.line(`__mlops_root rm -f `, quote(idleStopCron))
	s.stopLoop(w)
	w.line(`__mlops_root rm -f `, quote(idleStopScript), ` `, quote(idleStopConf))
	w.echo("removed the idle-stop agent (its log " + idleStopLog + " is kept)")
	return ""
}
