package command

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

// migrateLocalState moves the local state into store when the
// configuration gained a backend block: while .mlops/state.json exists
// beside a configuration whose state lives elsewhere, the commands that
// write the state first copy it there (state.Migrate, which takes both
// locks and refuses a target holding another stack or a newer state), then
// rename the local file to state.json.migrated, never deleting it, and say
// so in one line on stderr. It does nothing for a local store or an
// explicit -state PATH.
func migrateLocalState(ctx context.Context, d Deps, dir, statePath string, store state.Store) error {
	if statePath != "" {
		return nil
	}
	if _, local := store.(*state.Local); local {
		return nil
	}
	path := filepath.Join(dir, state.DefaultLocalPath)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	rel := state.DefaultLocalPath
	res, err := state.Migrate(ctx, state.NewLocal(path), store)
	if err != nil {
		return fmt.Errorf("%w\n\nThe configuration keeps its state in %s, but %s holds a local state that cannot be moved there; it was left as it is. If the state in %s is the right one, move %s away; otherwise point the backend at another key",
			err, store.Describe(), rel, store.Describe(), rel)
	}
	if res == state.MigrateNothing {
		return nil
	}
	dest, err := keptName(path + ".migrated")
	if err != nil {
		return err
	}
	if err := os.Rename(path, dest); err != nil {
		return fmt.Errorf("the state was copied to %s, but %s could not be renamed: %w; rename it yourself so that it is not migrated again", store.Describe(), rel, err)
	}
	keptRel, _ := filepath.Rel(dir, dest)
	views.RenderStateMigrated(d.Streams.Err, res == state.MigrateUpToDate, rel, store.Describe(), keptRel)
	return nil
}

// keptName returns name, or name.2, name.3, ... when it is taken, so that
// an earlier migrated file is never overwritten.
func keptName(name string) (string, error) {
	for i := 1; i < 1000; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s.%d", name, i)
		}
		if _, err := os.Lstat(n); errors.Is(err, fs.ErrNotExist) {
			return n, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("too many migrated state files named %s.*", name)
}
