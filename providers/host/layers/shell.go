package layers

import (
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
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &shellSpec{check: a.str("check"), run: a.str("run")}
		return s, a.err
	}}
}

type shellSpec struct {
	check, run string
}

func (s *shellSpec) probe(w *script) {
	w.line("bash -c ", quote(s.check), " >/dev/null 2>&1")
	w.fact("rc", `"$?"`)
}

func (s *shellSpec) status(f facts) status {
	if f["rc"] == "0" {
		return status{satisfied: true}
	}
	return status{reasons: []string{"check failed (exit " + f["rc"] + ")"}}
}

func (s *shellSpec) apply(w *script, f facts) {
	w.line("bash -c ", quote(s.run))
	w.line("if bash -c ", quote(s.check), "; then")
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
