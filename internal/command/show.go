package command

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

const showUsage = `
Usage: mlops [-chdir=DIR] show [-json] [PLANFILE]

  Shows the recorded state, or a saved plan.
`

// showOptions are the flags and PLANFILE argument of mlops show.
type showOptions struct {
	json      bool
	statePath string
	chdir     string
	args      []string
}

func parseShowOptions(d Deps, args []string) (*showOptions, bool) {
	o := &showOptions{}
	fs := newFlags(d, "show", showUsage)
	fs.BoolVar(&o.json, "json", false, "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, showUsage, args) {
		return nil, false
	}
	o.args = fs.Args()
	return o, true
}

func runShow(d Deps, g globals, args []string) int {
	o, ok := parseShowOptions(d, args)
	if !ok {
		return 1
	}
	dir := configDir(d, g, o.chdir)
	w := newWorld(d, dir)
	if len(o.args) == 1 {
		return showPlanFile(d, o, w, o.args[0])
	}
	st, _, err := readState(d, dir, o.statePath)
	if err != nil {
		renderError(d, o.json, "Cannot read the state", err)
		return 1
	}
	if o.json {
		return showStateJSON(d, w, st)
	}
	views.RenderState(d.Streams.Out, w.schemas, st)
	return 0
}

// showPlanFile prints a saved plan, after checking it against the schemas.
func showPlanFile(d Deps, o *showOptions, w *world, path string) int {
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.Cwd, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		renderError(d, o.json, "Cannot read saved plan", err)
		return 1
	}
	p, err := plan.Unmarshal(b)
	if err == nil {
		err = plan.CheckSchemas(p, w.schemas)
	}
	if err != nil {
		renderError(d, o.json, "Invalid saved plan", err)
		return 1
	}
	if o.json {
		_ = views.RenderPlanJSON(d.Streams.Out, p)
	} else {
		views.RenderPlan(d.Streams.Out, d.Streams, w.schemas, p)
		views.RenderPlanLock(d.Streams.Out, d.Streams, p)
	}
	return 0
}

// showStateJSON prints the state as JSON with sensitive values masked.
func showStateJSON(d Deps, w *world, st *state.State) int {
	// Sensitive outputs are masked here; mlops output -json or -raw
	// prints them on purpose.
	st = st.DeepCopy()
	for _, o := range st.Outputs {
		if o.Sensitive {
			o.Value = json.RawMessage(`"` + plan.SensitiveValue + `"`)
		}
	}
	for _, r := range st.Resources {
		maskResourceJSON(w, r)
	}
	b, err := st.Encode()
	if err != nil {
		renderError(d, true, "Cannot encode the state", err)
		return 1
	}
	views.RenderStateJSON(d.Streams.Out, b)
	return 0
}

func showResource(d Deps, w *world, r *state.Resource) {
	views.RenderResource(d.Streams.Out, w.schemas, r)
}
