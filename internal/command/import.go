package command

import (
	"fmt"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

const importUsage = `
Usage: mlops [-chdir=DIR] import [options] ADDRESS ID

  Adopts an object created elsewhere (an instance i-..., a security group
  sg-..., a key pair name) into the state at ADDRESS, which must be declared
  in the configuration.
`

// importOptions are the flags and arguments of mlops import.
type importOptions struct {
	vf        varFlags
	statePath string
	chdir     string
	addr      addrs.Resource
	id        string
}

func parseImportOptions(d Deps, args []string) (*importOptions, bool) {
	o := &importOptions{}
	fs := newFlags(d, "import", importUsage)
	fs.Var(&o.vf.vars, "var", "")
	fs.Var(&o.vf.varFiles, "var-file", "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, importUsage, args) {
		return nil, false
	}
	if fs.NArg() != 2 {
		views.RenderUsageError(d.Streams.Err, "", importUsage)
		return nil, false
	}
	addr, err := addrs.ParseResource(fs.Arg(0))
	if err != nil || addr.Mode != addrs.Managed {
		renderError(d, false, "Invalid address", fmt.Errorf("%q is not a resource address (TYPE.NAME)", fs.Arg(0)))
		return nil, false
	}
	o.addr, o.id = addr, fs.Arg(1)
	return o, true
}

func runImport(d Deps, g globals, args []string) (code int) {
	o, ok := parseImportOptions(d, args)
	if !ok {
		return 1
	}
	addr := o.addr
	dir := configDir(d, g, o.chdir)
	l, diags := loadConfig(d, dir, o.vf, false)
	if diags.HasErrors() {
		renderDiags(d, false, cfgOf(l), diags)
		return 1
	}
	if l.cfg.Resources[addr.NoKey()] == nil {
		renderError(d, false, "Resource not in the configuration", fmt.Errorf("%s must be declared in the configuration before it can be imported", addr))
		return 1
	}
	if err := checkImportKey(l.cfg, addr); err != nil {
		renderError(d, false, "Invalid instance key", err)
		return 1
	}
	ctx := d.ctx()
	store, err := stateStore(ctx, d, dir, l.cfg, o.statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return 1
	}
	if err := migrateLocalState(ctx, d, dir, o.statePath, store); err != nil {
		renderError(d, false, "Cannot migrate the state", err)
		return 1
	}
	st, unlock, err := lockedRead(ctx, store, "import")
	if err != nil {
		renderError(d, false, "Cannot read the state", err)
		return 1
	}
	defer releaseLock(d, false, d.guardUnlock(unlock), &code)
	if stateResource(st, addr) != nil {
		renderError(d, false, "Resource already managed", fmt.Errorf("%s is already in the state; mlops state rm it first", addr))
		return 1
	}
	return importObject(d, o, l, store, st)
}

// importObject reads the object through its provider and records it.
func importObject(d Deps, o *importOptions, l *loaded, store state.Store, st *state.State) int {
	ctx, addr := d.ctx(), o.addr
	if diags := l.engine.ConfigureProviders(ctx, st); diags.HasErrors() {
		renderDiags(d, false, l.cfg, diags)
		return 1
	}
	prov, _ := l.world.registry.ForType(addr.Type)
	resp := prov.Import(ctx, providers.ImportRequest{Addr: addr, ID: o.id})
	if resp.Diagnostics.HasErrors() {
		renderDiags(d, false, l.cfg, resp.Diagnostics)
		return 1
	}
	raw, err := ctyjson.Marshal(resp.State, resp.State.Type())
	if err != nil {
		renderError(d, false, "Cannot record the object", err)
		return 1
	}
	r := state.ResourceFor(addr)
	r.ID = o.id
	r.Attributes = raw
	st.SetResource(r)
	if err := store.Write(ctx, st); err != nil {
		renderError(d, false, "Cannot write the state", err)
		return 1
	}
	views.NewStateNotices(d.Streams.Out).Imported(addr.String(), o.id)
	return 0
}
