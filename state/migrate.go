package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// MigrateResult says what Migrate did.
type MigrateResult int

const (
	// MigrateNothing: the source holds no state.
	MigrateNothing MigrateResult = iota
	// MigrateCopied: the state was written to the target.
	MigrateCopied
	// MigrateUpToDate: the target already holds the same state.
	MigrateUpToDate
)

// Migrate copies the state in from to to, for when the backend changes
// (typically local file -> S3). It takes both locks itself (operation
// "migrate"), so the caller must not hold them.
//
// It refuses when the target holds the state of another stack (different
// lineage; a *StaleError) or a newer or diverged state of this stack (same
// lineage, serial not lower than the source's, different content). When the
// target already holds the same state it writes nothing. The source is left
// as it is; removing it is the caller's decision.
func Migrate(ctx context.Context, from, to Store) (res MigrateResult, err error) {
	fail := func(err error) (MigrateResult, error) {
		return MigrateNothing, fmt.Errorf("migrating state from %s to %s: %w", from.Describe(), to.Describe(), err)
	}
	info := LockInfo{Operation: "migrate"}
	unlockFrom, err := from.Lock(ctx, info)
	if err != nil {
		return fail(err)
	}
	defer releaseLock(unlockFrom, from, &err)
	unlockTo, err := to.Lock(ctx, info)
	if err != nil {
		return fail(err)
	}
	defer releaseLock(unlockTo, to, &err)

	src, err := from.Read(ctx)
	if err != nil || src == nil {
		if err != nil {
			return fail(err)
		}
		return MigrateNothing, nil
	}
	dst, err := to.Read(ctx)
	if err != nil {
		return fail(err)
	}
	if dst != nil {
		if dst.Lineage != src.Lineage {
			return fail(&StaleError{Where: to.Describe(),
				StoredLineage: dst.Lineage, WrittenLineage: src.Lineage,
				StoredSerial: dst.Serial, WrittenSerial: src.Serial})
		}
		same, err := sameContent(src, dst)
		if err != nil {
			return fail(err)
		}
		if same {
			return MigrateUpToDate, nil
		}
		if dst.Serial >= src.Serial {
			return fail(fmt.Errorf("the target already holds a state of this stack that is newer or different (serial %d; the source has serial %d); compare them and remove the one that is wrong",
				dst.Serial, src.Serial))
		}
	}
	if err := to.Write(ctx, src.DeepCopy()); err != nil {
		return fail(err)
	}
	if err := errors.Join(unlockTo(), unlockFrom()); err != nil {
		return MigrateCopied, fmt.Errorf("state copied to %s, but releasing a lock failed: %w", to.Describe(), err)
	}
	return MigrateCopied, nil
}

// sameContent compares two states ignoring their serials.
func sameContent(a, b *State) (bool, error) {
	a, b = a.DeepCopy(), b.DeepCopy()
	a.Serial, b.Serial = 0, 0
	ea, err := a.Encode()
	if err != nil {
		return false, err
	}
	eb, err := b.Encode()
	if err != nil {
		return false, err
	}
	return bytes.Equal(ea, eb), nil
}

// releaseLock runs unlock and reports its failure through err (unless an
// earlier error is reported already), so that a lock left behind is said.
func releaseLock(unlock func() error, s Store, err *error) {
	if uerr := unlock(); uerr != nil && *err == nil {
		*err = fmt.Errorf("releasing the lock on %s: %w", s.Describe(), uerr)
	}
}
