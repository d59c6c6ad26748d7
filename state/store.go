package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"
)

// Store keeps the state of one stack and guards it with a lock.
//
// Serial semantics: Write increments the serial itself. The caller passes
// the state it read (or last wrote), modified; Write refuses it with a
// *StaleError when the stored state has a different lineage or a greater
// serial than s.Serial, because then someone else wrote in between and
// storing s would silently drop their changes. Otherwise Write stores s with
// Serial+1 and, on success, sets s.Serial to the stored value, so the same
// *State can be written again after the next change. A state whose serial is
// greater than the stored one (copied from another store) is accepted.
// When nothing is stored yet, any lineage and serial is accepted.
//
// The lock makes a whole plan/apply run exclusive; the serial check also
// catches writers that did not take it (or whose lock was force-unlocked).
type Store interface {
	// Lock takes the exclusive lock. A lock held by someone else returns a
	// *LockedError carrying the holder's LockInfo. Empty fields of info are
	// filled in: ID (random), Who (user@host), Created (now) and Path.
	// unlock releases the lock; it is safe to call once.
	Lock(ctx context.Context, info LockInfo) (unlock func() error, err error)
	// Read returns the stored state, or (nil, nil) when none exists yet.
	Read(ctx context.Context) (*State, error)
	// Write stores s; see the serial semantics above.
	Write(ctx context.Context, s *State) error
	// ForceUnlock removes the lock with the given ID, for when the run that
	// took it is gone. It refuses when the current lock has another ID, and
	// returns ErrNotLocked when there is no lock.
	ForceUnlock(ctx context.Context, id string) error
	// Describe says where the state lives, for messages: "local file
	// .mlops/state.json", "s3://bucket/key".
	Describe() string
}

// ErrNotLocked is returned by ForceUnlock when no lock is held.
var ErrNotLocked = errors.New("state is not locked")

// LockInfo describes who holds a lock. It is stored with the lock so that a
// refused run can say who is in the way.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"` // "apply", "destroy", "migrate", ...
	Who       string    `json:"who"`       // user@host
	Version   string    `json:"version,omitempty"`
	Created   time.Time `json:"created"`
	// Path is where the lock lives: a file path or an s3:// URL.
	Path string `json:"path,omitempty"`
}

// fill sets defaults for the empty fields of i.
func (i LockInfo) fill(path string) LockInfo {
	if i.ID == "" {
		i.ID = newLockID()
	}
	if i.Who == "" {
		i.Who = whoAmI()
	}
	if i.Created.IsZero() {
		i.Created = time.Now().UTC()
	}
	if i.Path == "" {
		i.Path = path
	}
	return i
}

func newLockID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// whoAmI returns user@host, with "unknown" for a part it cannot find.
func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// LockedError reports that someone else holds the lock.
type LockedError struct {
	Info LockInfo
	// ReleasedOnExit is set for operating-system locks (Local), which are
	// released when the holding process exits, so force-unlock is never
	// needed for them.
	ReleasedOnExit bool
}

func (e *LockedError) Error() string {
	i := e.Info
	who, op := i.Who, i.Operation
	if who == "" {
		who = "an unknown process"
	}
	if op == "" {
		op = "an unknown operation"
	}
	msg := fmt.Sprintf("state is locked by %s for %q", who, op)
	if !i.Created.IsZero() {
		msg += " since " + i.Created.UTC().Format(time.RFC3339)
	}
	if e.ReleasedOnExit {
		msg += "; the lock is released when that process exits"
		if i.Path != "" {
			msg += " (lock file " + i.Path + ")"
		}
		return msg
	}
	if i.ID == "" {
		return msg + "; the lock records no ID"
	}
	return msg + "; lock ID " + i.ID + "; if that run is gone: mlops force-unlock " + i.ID
}

// StaleError reports a Write refused because the stored state is not the
// one the written state is based on.
type StaleError struct {
	// Where is the store's Describe().
	Where string
	// Stored and Written are the lineages and serials involved.
	StoredLineage, WrittenLineage string
	StoredSerial, WrittenSerial   uint64
	// Concurrent is set when the stored state changed between the check
	// and the write (S3 only).
	Concurrent bool
}

func (e *StaleError) Error() string {
	switch {
	case e.Concurrent:
		return fmt.Sprintf("refusing to write state to %s: another run changed it at the same time; run the command again", e.Where)
	case e.StoredLineage != e.WrittenLineage:
		return fmt.Sprintf("refusing to write state to %s: it holds the state of a different stack (lineage %s; this state has lineage %s)",
			e.Where, e.StoredLineage, e.WrittenLineage)
	default:
		return fmt.Sprintf("refusing to write state to %s: it has changed since it was read (stored serial %d, this state is based on serial %d); another run wrote it; run the command again",
			e.Where, e.StoredSerial, e.WrittenSerial)
	}
}

// checkWrite applies the serial semantics of Store.Write: it returns the
// serial to store s with, or a *StaleError. stored may be nil.
func checkWrite(where string, stored, s *State) (uint64, error) {
	if stored == nil {
		return s.Serial + 1, nil
	}
	if stored.Lineage != s.Lineage || stored.Serial > s.Serial {
		return 0, &StaleError{
			Where:         where,
			StoredLineage: stored.Lineage, WrittenLineage: s.Lineage,
			StoredSerial: stored.Serial, WrittenSerial: s.Serial,
		}
	}
	return s.Serial + 1, nil
}

// encodeForWrite renders s as it will be stored, with the given serial and
// the current format version, and checks that Decode accepts it, so a store
// never writes a state it cannot read back. s is not modified.
func encodeForWrite(s *State, serial uint64) ([]byte, error) {
	c := *s
	c.Serial = serial
	c.Version = FormatVersion
	data, err := c.Encode()
	if err != nil {
		return nil, err
	}
	if _, err := Decode(data); err != nil {
		return nil, fmt.Errorf("refusing to write an invalid state: %w", err)
	}
	return data, nil
}
