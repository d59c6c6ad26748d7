package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultLocalPath is where the CLI keeps local state, relative to the
// configuration directory.
const DefaultLocalPath = ".mlops/state.json"

// Local keeps state in a file on this machine.
//
// The lock is an operating-system lock (flock) on PATH.lock, whose content
// is the holder's LockInfo. The kernel releases it when the holder exits,
// even by SIGKILL, so a stale local lock cannot exist; the file is kept
// (only emptied) on unlock, because deleting a flocked file lets two
// processes lock two different inodes under the same name.
//
// Write is atomic: the new state goes to a temporary file in the same
// directory (mode 0600) that is fsynced and renamed over PATH; the previous
// state is kept as PATH.backup (0600). A Write that fails leaves PATH as it
// was. Directories are created with mode 0700.
type Local struct {
	path string
	// syncFile flushes a file to disk; tests replace it to inject failures.
	syncFile func(*os.File) error
}

var _ Store = (*Local)(nil)

// NewLocal returns a store for the state file at path. It touches nothing
// on disk until used.
func NewLocal(path string) *Local {
	return &Local{path: path, syncFile: (*os.File).Sync}
}

// Path returns the state file's path.
func (l *Local) Path() string { return l.path }

// Describe implements Store.
func (l *Local) Describe() string { return "local file " + l.path }

func (l *Local) lockPath() string { return l.path + ".lock" }

// BackupPath returns where Write keeps the previous state.
func (l *Local) BackupPath() string { return l.path + ".backup" }

// Lock implements Store. It never waits: a lock held by another process (or
// another Local in this one) returns a *LockedError with ReleasedOnExit set.
func (l *Local) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return nil, fmt.Errorf("locking state: %w", err)
	}
	lp := l.lockPath()
	info = info.fill(lp)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking state: %w", err)
	}
	ok, err := tryFlock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking state: %w", err)
	}
	if !ok {
		holder := readHolder(ctx, f)
		f.Close()
		if holder.Path == "" {
			holder.Path = lp
		}
		return nil, &LockedError{Info: holder, ReleasedOnExit: true}
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err == nil {
		err = writeLockFile(f, append(data, '\n'))
	}
	if err != nil {
		funlock(f)
		f.Close()
		return nil, fmt.Errorf("locking state: writing %s: %w", lp, err)
	}
	return sync.OnceValue(func() error {
		// Empty the file first, so nobody reads our info after the
		// lock is gone.
		return errors.Join(f.Truncate(0), funlock(f), f.Close())
	}), nil
}

func writeLockFile(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the LockInfo from a lock file someone else holds. The
// holder writes it right after taking the lock, so an empty or partial
// file is retried briefly before giving up with what is known.
func readHolder(ctx context.Context, f *os.File) LockInfo {
	var info LockInfo
	for range 20 {
		data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
		if err == nil && len(data) > 0 && json.Unmarshal(data, &info) == nil {
			return info
		}
		select {
		case <-ctx.Done():
			return LockInfo{}
		case <-time.After(10 * time.Millisecond):
		}
	}
	return LockInfo{}
}

// ForceUnlock implements Store. A local lock cannot outlive its process, so
// there is nothing to break: when a running process holds the lock,
// ForceUnlock refuses and says so; when no process holds it, it empties a
// lock file left with stale content and returns ErrNotLocked whatever the
// ID.
func (l *Local) ForceUnlock(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lp := l.lockPath()
	f, err := os.OpenFile(lp, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotLocked
	}
	if err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	defer f.Close()
	ok, err := tryFlock(f)
	if err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	if !ok {
		holder := readHolder(ctx, f)
		return fmt.Errorf("the lock on %s is held by a running process (%s for %q, lock ID %s); "+
			"it is an operating-system lock that is released when that process exits, so stop that process instead of force-unlocking",
			l.Describe(), holder.Who, holder.Operation, holder.ID)
	}
	defer funlock(f)
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	return ErrNotLocked
}

// Read implements Store. It only reads: a corrupt or newer file is
// reported and left as it is.
func (l *Local) Read(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	s, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.path, err)
	}
	return s, nil
}

// Write implements Store; see Store for the serial semantics and Local
// for how the file is replaced.
func (l *Local) Write(ctx context.Context, s *State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(l.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	defer d.Close()
	// Writers in this directory take turns between checking the stored
	// serial and renaming, so the check cannot go stale under us even for
	// a caller without the state lock.
	if err := lockDir(ctx, d); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	defer funlock(d)

	old, err := os.ReadFile(l.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing state: %w", err)
	}
	var stored *State
	if old != nil {
		if stored, err = Decode(old); err != nil {
			return fmt.Errorf("refusing to overwrite %s: %w", l.path, err)
		}
	}
	serial, err := checkWrite(l.Describe(), stored, s)
	if err != nil {
		return err
	}
	data, err := encodeForWrite(s, serial)
	if err != nil {
		return err
	}

	tmp, err := l.writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	if old != nil {
		bak, err := l.writeTemp(dir, old)
		if err == nil {
			err = os.Rename(bak, l.BackupPath())
			if err != nil {
				os.Remove(bak)
			}
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("writing state backup: %w", err)
		}
	}
	if err := os.Rename(tmp, l.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing state: %w", err)
	}
	// The file is replaced now, so s matches it even if the directory
	// sync below fails.
	s.Serial = serial
	// The rename is durable only once the directory is.
	if err := l.syncFile(d); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("writing state: syncing %s: %w", dir, err)
	}
	return nil
}

// writeTemp writes data to a new 0600 file in dir, flushed to disk, and
// returns its name. On error nothing is left behind.
func (l *Local) writeTemp(dir string, data []byte) (name string, err error) {
	f, err := os.CreateTemp(dir, "."+filepath.Base(l.path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := l.syncFile(f); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// lockDir takes an exclusive flock on the directory d, polling until ctx
// ends. File systems without flock on directories (some network mounts)
// get no extra guard; the state lock and serial check still apply.
func lockDir(ctx context.Context, d *os.File) error {
	for {
		ok, err := tryFlock(d)
		if err != nil {
			return nil
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
