package layers

import (
	"fmt"
	"time"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

func shellKind() kind {
	ls := &schema.Layer{
		Description: "Runs a command unless a check says it is not needed. Both run with bash -c as the SSH user.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"check": {
				Type: cty.String, Required: true, DigestInState: true, Validate: stringCheck(validateNotEmpty),
				Description: "Exits 0 when the host is as wanted. It runs during plan: it must not change anything.",
			},
			"run": {
				Type: cty.String, Required: true, DigestInState: true, Validate: stringCheck(validateNotEmpty),
				Description: "Brings the host to the state check looks for; check must pass afterwards.",
			},
			"timeout": {
				Type: cty.String, Optional: true, Default: cty.StringVal(defaultCheckTimeout.String()), Validate: stringCheck(validateTimeout),
				Description: "How long check may run (a duration like \"30s\" or \"5m\"); a check still running then is killed and counts as failed, so a hanging check cannot block plan.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &shellSpec{check: a.str("check"), run: a.str("run")}
		s.timeout, _ = time.ParseDuration(a.str("timeout"))
		if s.timeout <= 0 {
			s.timeout = defaultCheckTimeout
		}
		return s, a.err
	}}
}

// defaultCheckTimeout bounds a shell layer's check when it sets no timeout.
const defaultCheckTimeout = time.Minute

// timedOut is the exit status of timeout(1) when it killed the command.
const timedOut = "124"

func validateTimeout(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return fmt.Errorf("must be a duration from 1s to 24h, like \"30s\" or \"5m\"; got %q", s)
	}
	return nil
}

type shellSpec struct {
	check, run string
	timeout    time.Duration
}

// timed runs cmd under timeout(1) (coreutils, on every Debian and Ubuntu):
// TERM after the layer's timeout, KILL 5 s later if it ignores TERM.
func (s *shellSpec) timed(cmd string) string {
	return "timeout -k 5 " + fmt.Sprintf("%d", int(s.timeout.Seconds())) + " bash -c " + quote(cmd)
}

func (s *shellSpec) probe(w *script) {
	w.line(s.timed(s.check), " >/dev/null 2>&1")
	w.fact("rc", `"$?"`)
}

func (s *shellSpec) status(f facts) status {
	switch f["rc"] {
	case "0":
		return status{satisfied: true}
	case timedOut:
		return status{reasons: []string{"check timed out after " + s.timeout.String()}}
	}
	return status{reasons: []string{"check failed (exit " + f["rc"] + ")"}}
}

func (s *shellSpec) apply(w *script, f facts) {
	w.line("bash -c ", quote(s.run))
	w.line("if ", s.timed(s.check), "; then")
	w.echo("check passed")
	w.line("else")
	w.line(`  rc=$?`)
	w.line(`  echo "check still fails after run (exit $rc)" >&2`)
	w.line(`  exit 1`)
	w.line("fi")
}

func (s *shellSpec) remove(w *script, others []spec) string {
	return "left in place: mlops cannot undo a shell layer"
}
