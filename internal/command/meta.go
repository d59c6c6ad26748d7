package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/lockfile"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/aws"
	"github.com/mlops-dev/mlops/providers/builtin"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

// world is everything a command needs to talk to the outside.
type world struct {
	registry providers.Registry
	hosts    *host.Hosts
	schemas  schema.Schemas
	// note prints a message of the SSH transport (stderr; the terminal
	// view takes them over during apply).
	note func(msg string)
}

func newWorld(d Deps, dir string) *world {
	w := &world{note: func(msg string) { views.RenderNote(d.Streams.Err, msg) }}
	awsOpts := aws.Options{Env: d.Env, WorkDir: dir, ResponseTimeout: responseTimeout(d)}
	// AWS_MAX_ATTEMPTS is the SDKs' standard setting for attempts per API
	// call; the provider installs its own retryer, so it is passed on here.
	if n, err := strconv.Atoi(d.getenv("AWS_MAX_ATTEMPTS")); err == nil && n > 0 {
		awsOpts.MaxAttempts = n
	}
	if d.HTTPClient != nil {
		awsOpts.HTTPClient = d.HTTPClient
	}
	w.registry = providers.Registry{"aws": aws.New(awsOpts), "host": builtin.New()}
	hopts := host.OptionsFromEnv(d.getenv)
	hopts.NewSession = layers.NewSession
	// "waiting for SSH on ... retrying in 2s" while a new machine boots.
	hopts.Log = func(format string, args ...any) {
		w.note("ssh: " + fmt.Sprintf(format, args...))
	}
	hopts.LayerSchemas = layers.Schemas
	w.hosts = host.New(hopts)
	w.schemas = w.registry.Schemas(layers.Schemas())
	return w
}

// loaded is a configuration ready for an operation.
type loaded struct {
	dir    string
	cfg    *config.Config
	world  *world
	engine *plan.Engine
	// varFiles are the -var-file paths, absolute.
	varFiles []string
	// lock is the lock file as read (empty when there is none).
	lock *lockfile.Lock
}

// varFlags are the flags that set variables.
type varFlags struct {
	vars     stringList
	varFiles stringList
}

// loadConfig loads the configuration of dir; diagnostics are returned, not printed.
func loadConfig(d Deps, dir string, vf varFlags, allowUnset bool) (*loaded, hcl.Diagnostics) {
	w := newWorld(d, dir)
	files := make([]string, 0, len(vf.varFiles))
	for _, f := range vf.varFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(d.Cwd, f)
		}
		files = append(files, f)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No configuration directory",
			Detail: fmt.Sprintf("%s is not a directory.", dir)}}
	}
	cfg, diags := config.Load(dir, config.LoadOptions{Schemas: w.schemas, Vars: vf.vars, VarFiles: files, Env: d.Env, AllowUnsetVariables: allowUnset, Context: d.ctx()})
	if cfg == nil || diags.HasErrors() {
		return &loaded{dir: dir, cfg: cfg, world: w}, diags
	}
	if len(cfg.Resources) == 0 && len(cfg.Sources) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files",
			Detail: fmt.Sprintf("There are no *.hcl files in %s.", dir)})
	}
	// The lock file is input too: a broken one is reported with the
	// configuration's problems, before any API call.
	lock, lockFile, ldiags := lockfile.Load(dir)
	if lockFile != nil {
		cfg.Files[lockFile.Body.MissingItemRange().Filename] = lockFile
	}
	if !ldiags.HasErrors() {
		ldiags = append(ldiags, lock.Check(w.schemas.DataSources)...)
	}
	diags = append(diags, ldiags...)
	l := &loaded{dir: dir, cfg: cfg, world: w, lock: lock, varFiles: files}
	l.engine = &plan.Engine{Config: cfg, Providers: w.registry, Hosts: w.hosts, Schemas: w.schemas, Lock: lock}
	return l, diags
}

// stateStore opens the store the configuration names: S3 when a backend
// "s3" block is present, else the local file (or -state PATH).
func stateStore(ctx context.Context, d Deps, dir string, cfg *config.Config, statePath string) (state.Store, error) {
	if cfg != nil && cfg.Backend != nil && cfg.Backend.Type == "s3" && statePath == "" {
		o := state.S3Options{}
		get := func(k string) string {
			if v, ok := cfg.Backend.Config[k]; ok && !v.IsNull() && v.IsKnown() {
				return v.AsString()
			}
			return ""
		}
		o.Bucket, o.Key, o.Region, o.Endpoint, o.Profile = get("bucket"), get("key"), get("region"), get("endpoint"), get("profile")
		if o.Endpoint == "" {
			o.Endpoint = d.getenv("AWS_ENDPOINT_URL_S3")
		}
		if o.Endpoint == "" {
			o.Endpoint = d.getenv("AWS_ENDPOINT_URL")
		}
		if d.HTTPClient != nil {
			o.HTTPClient = d.HTTPClient
		}
		o.ResponseTimeout = responseTimeout(d)
		return state.OpenS3(ctx, o)
	}
	if statePath == "" {
		statePath = filepath.Join(dir, ".mlops", "state.json")
	} else if !filepath.IsAbs(statePath) {
		statePath = filepath.Join(d.Cwd, statePath)
	}
	return state.NewLocal(statePath), nil
}

// lockedRead takes the lock and reads the state; a missing state is a new
// empty one with a fresh lineage.
func lockedRead(ctx context.Context, store state.Store, op string) (*state.State, func() error, error) {
	unlock, err := store.Lock(ctx, state.LockInfo{Operation: op, Version: Version})
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Read(ctx)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if st == nil {
		st = state.New(state.NewLineage())
	}
	return st, unlock, nil
}

// renderError prints an error as a diagnostic.
func renderError(d Deps, jsonOut bool, summary string, err error) {
	renderDiags(d, jsonOut, nil, errorDiagnostics(summary, err))
}

// errorDiagnostics turns err into one error diagnostic headed summary; a
// lock held elsewhere and an interrupt get headings that say so.
func errorDiagnostics(summary string, err error) hcl.Diagnostics {
	detail := err.Error()
	var le *state.LockedError
	if errors.As(err, &le) {
		summary = "Error acquiring the state lock"
	}
	if errors.Is(err, context.Canceled) {
		summary = "Interrupted: " + strings.ToLower(summary[:1]) + summary[1:]
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
}

func renderDiags(d Deps, jsonOut bool, cfg *config.Config, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	diags, files = relativeNames(d.Cwd, diags, files)
	if jsonOut {
		_ = views.RenderDiagnosticsJSON(d.Streams.Out, diags)
		return
	}
	views.RenderDiagnostics(d.Streams.Err, d.Streams, files, diags)
}

// relativeNames shows file names relative to the working directory, as
// users typed them (main.hcl, not /home/me/stack/main.hcl). The diagnostics
// are copied, not changed.
func relativeNames(cwd string, diags hcl.Diagnostics, files map[string]*hcl.File) (hcl.Diagnostics, map[string]*hcl.File) {
	rel := func(name string) string {
		if !filepath.IsAbs(name) || cwd == "" {
			return name
		}
		if r, err := filepath.Rel(cwd, name); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return name
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, dg := range diags {
		c := *dg
		if c.Subject != nil {
			r := *c.Subject
			r.Filename = rel(r.Filename)
			c.Subject = &r
		}
		if c.Context != nil {
			r := *c.Context
			r.Filename = rel(r.Filename)
			c.Context = &r
		}
		out[i] = &c
	}
	renamed := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		renamed[rel(name)] = f
	}
	return out, renamed
}

func trimUsage(s string) string { return strings.TrimSpace(s) }
