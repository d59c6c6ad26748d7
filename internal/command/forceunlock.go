package command

import (
	"errors"

	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

const forceUnlockUsage = `
Usage: mlops [-chdir=DIR] force-unlock LOCK_ID

  Removes a state lock left by a run that is gone. Local locks are released
  by the operating system when their process dies; this is for remote state.
`

// forceUnlockOptions are the flags and LOCK_ID of mlops force-unlock.
type forceUnlockOptions struct {
	statePath string
	chdir     string
	lockID    string
}

func parseForceUnlockOptions(d Deps, args []string) (*forceUnlockOptions, bool) {
	o := &forceUnlockOptions{}
	fs := newFlags(d, "force-unlock", forceUnlockUsage)
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	if !parseFlags(d, fs, forceUnlockUsage, args) {
		return nil, false
	}
	if fs.NArg() != 1 {
		views.RenderUsageError(d.Streams.Err, "", forceUnlockUsage)
		return nil, false
	}
	o.lockID = fs.Arg(0)
	return o, true
}

func runForceUnlock(d Deps, g globals, args []string) int {
	o, ok := parseForceUnlockOptions(d, args)
	if !ok {
		return 1
	}
	dir := configDir(d, g, o.chdir)
	l, _ := loadConfig(d, dir, varFlags{}, true)
	store, err := stateStore(d.ctx(), d, dir, cfgOf(l), o.statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return 1
	}
	if err := store.ForceUnlock(d.ctx(), o.lockID); err != nil {
		if errors.Is(err, state.ErrNotLocked) {
			views.NewStateNotices(d.Streams.Out).NotLocked()
			return 0
		}
		renderError(d, false, "Cannot unlock", err)
		return 1
	}
	views.NewStateNotices(d.Streams.Out).Released(o.lockID, store.Describe())
	return 0
}
