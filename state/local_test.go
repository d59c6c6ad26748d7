package state

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newLocal(t *testing.T) *Local {
	t.Helper()
	return NewLocal(filepath.Join(t.TempDir(), ".mlops", "state.json"))
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLocalReadMissing(t *testing.T) {
	l := newLocal(t)
	s, err := l.Read(context.Background())
	if s != nil || err != nil {
		t.Fatalf("Read = %v, %v; want nil, nil", s, err)
	}
	if _, err := os.Stat(filepath.Dir(l.Path())); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read created the directory: %v", err)
	}
}

func TestLocalWriteModesAndBackup(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	s := sample()
	s.Serial = 0
	if err := l.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.Serial != 1 {
		t.Errorf("after first Write, Serial = %d, want 1", s.Serial)
	}
	if m := mode(t, filepath.Dir(l.Path())); m != 0o700 {
		t.Errorf("directory mode %v, want 0700", m)
	}
	if m := mode(t, l.Path()); m != 0o600 {
		t.Errorf("state mode %v, want 0600", m)
	}
	if _, err := os.Stat(l.BackupPath()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("first write made a backup: %v", err)
	}
	first := readFile(t, l.Path())

	s.RemoveResource("aws_instance.web")
	if err := l.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.Serial != 2 {
		t.Errorf("after second Write, Serial = %d, want 2", s.Serial)
	}
	if m := mode(t, l.BackupPath()); m != 0o600 {
		t.Errorf("backup mode %v, want 0600", m)
	}
	if diff := cmp.Diff(string(first), string(readFile(t, l.BackupPath()))); diff != "" {
		t.Errorf("backup is not the previous state (-want +got):\n%s", diff)
	}
	got, err := l.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Read after Write (-want +got):\n%s", diff)
	}
	assertNoTempFiles(t, l)
}

func assertNoTempFiles(t *testing.T, l *Local) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(l.Path()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestLocalFailedWriteKeepsOldFile(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	s := sample()
	for range 2 { // two writes, so there is a backup too
		if err := l.Write(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	before, backup := readFile(t, l.Path()), readFile(t, l.BackupPath())

	// The disk fails while the new state is being flushed.
	l.syncFile = func(*os.File) error { return errors.New("input/output error") }
	serial := s.Serial
	s.RemoveResource("aws_instance.web")
	err := l.Write(ctx, s)
	if err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("Write = %v, want the injected error", err)
	}
	if s.Serial != serial {
		t.Errorf("failed Write changed Serial to %d", s.Serial)
	}
	if !bytes.Equal(before, readFile(t, l.Path())) {
		t.Error("failed Write changed the state file")
	}
	if !bytes.Equal(backup, readFile(t, l.BackupPath())) {
		t.Error("failed Write changed the backup")
	}
	assertNoTempFiles(t, l)

	// Once the disk recovers, the same state can be written.
	l.syncFile = (*os.File).Sync
	if err := l.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func TestLocalStaleWriteRefused(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	if err := l.Write(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	a, err := l.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := a.DeepCopy()
	if err := l.Write(ctx, a); err != nil { // a wins the race
		t.Fatal(err)
	}
	written := readFile(t, l.Path())

	var stale *StaleError
	err = l.Write(ctx, b) // b was based on the serial before a's write
	if !errors.As(err, &stale) {
		t.Fatalf("Write of stale state = %v, want *StaleError", err)
	}
	if stale.StoredSerial != a.Serial || stale.WrittenSerial != b.Serial {
		t.Errorf("StaleError = %+v", stale)
	}
	if !regexp.MustCompile(`^refusing to write state to local file .*state.json: it has changed since it was read \(stored serial 9, this state is based on serial 8\)`).MatchString(err.Error()) {
		t.Errorf("message: %s", err)
	}

	other := New(NewLineage())
	other.Serial = 100
	err = l.Write(ctx, other)
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), "holds the state of a different stack") {
		t.Fatalf("Write with another lineage = %v, want *StaleError about lineage", err)
	}
	if !bytes.Equal(written, readFile(t, l.Path())) {
		t.Error("refused Write changed the file")
	}

	// A state copied from elsewhere with a higher serial is accepted.
	ahead := a.DeepCopy()
	ahead.Serial += 5
	if err := l.Write(ctx, ahead); err != nil {
		t.Fatalf("Write of a newer state: %v", err)
	}
	if ahead.Serial != a.Serial+6 {
		t.Errorf("Serial = %d, want %d", ahead.Serial, a.Serial+6)
	}
}

func TestLocalBadFileLeftAlone(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"corrupt", `{"version":1,"lineage":"l","resources":[`, "state file is corrupt: "},
		{"newer", `{"version":3,"lineage":"l"}`, "state was written by a newer mlops (format 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLocal(t)
			if err := os.MkdirAll(filepath.Dir(l.Path()), 0o700); err != nil {
				t.Fatal(err)
			}
			old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.WriteFile(l.Path(), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(l.Path(), old, old); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Read(ctx); err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), l.Path()) {
				t.Errorf("Read = %v, want error with %q and the path", err, tt.wantErr)
			}
			s := New("l")
			s.Serial = 50
			if err := l.Write(ctx, s); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write over it = %v, want error with %q", err, tt.wantErr)
			}
			if got := string(readFile(t, l.Path())); got != tt.content {
				t.Errorf("file changed to %q", got)
			}
			if fi, _ := os.Stat(l.Path()); !fi.ModTime().Equal(old) {
				t.Errorf("file modified at %v", fi.ModTime())
			}
			if _, err := os.Stat(l.BackupPath()); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("backup written: %v", err)
			}
		})
	}
}

func TestLocalLockConflict(t *testing.T) {
	ctx := context.Background()
	a := newLocal(t)
	b := NewLocal(a.Path()) // another run in the same directory
	created := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	unlock, err := a.Lock(ctx, LockInfo{Operation: "apply", Who: "alice@box", Created: created, Version: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = b.Lock(ctx, LockInfo{Operation: "plan"})
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Lock = %v, want *LockedError", err)
	}
	if locked.Info.Who != "alice@box" || locked.Info.Operation != "apply" || !locked.Info.Created.Equal(created) ||
		locked.Info.ID == "" || locked.Info.Path != a.Path()+".lock" || !locked.ReleasedOnExit {
		t.Errorf("holder info = %+v", locked)
	}
	want := `state is locked by alice@box for "apply" since 2026-05-06T07:08:09Z; the lock is released when that process exits (lock file ` + a.Path() + `.lock)`
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}

	if err := b.ForceUnlock(ctx, locked.Info.ID); err == nil || !strings.Contains(err.Error(), "held by a running process (alice@box") {
		t.Errorf("ForceUnlock of a live lock = %v, want refusal", err)
	}

	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if got := readFile(t, a.Path()+".lock"); len(got) != 0 {
		t.Errorf("lock file still holds %q after unlock", got)
	}
	unlockB, err := b.Lock(ctx, LockInfo{Operation: "plan"})
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	defer unlockB()
	if err := b.ForceUnlock(ctx, "whatever"); err == nil {
		t.Error("ForceUnlock broke a lock held by this process")
	}
}

func TestLocalLockReleasedWhenHolderKilled(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+l.Path())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		line <- sc.Text()
	}()
	select {
	case got := <-line:
		if got != "locked" {
			t.Fatalf("child said %q", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not take the lock")
	}

	_, err = l.Lock(ctx, LockInfo{Operation: "apply"})
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("Lock while the child holds it = %v, want *LockedError", err)
	}
	want := LockInfo{ID: "child-lock-id", Operation: "apply", Who: "child@test", Version: "test",
		Created: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Path: l.Path() + ".lock"}
	if diff := cmp.Diff(want, locked.Info); diff != "" {
		t.Errorf("holder info (-want +got):\n%s", diff)
	}

	if err := cmd.Process.Signal(os.Kill); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; want killed")
	}
	if got := readFile(t, l.Path()+".lock"); len(got) == 0 {
		t.Error("expected the killed child's info to remain in the lock file")
	}

	unlock, err := l.Lock(ctx, LockInfo{Operation: "apply", Who: "me@here"})
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if !strings.Contains(string(readFile(t, l.Path()+".lock")), "me@here") {
		t.Error("lock file does not show the new holder")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	// Stale content, no holder: force-unlock just tidies up.
	if err := l.ForceUnlock(ctx, "child-lock-id"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("ForceUnlock with no holder = %v, want ErrNotLocked", err)
	}
}
