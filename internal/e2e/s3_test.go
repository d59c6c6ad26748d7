package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/state"
)

// The tests in this file keep the state in moto's S3 (mlops { backend "s3"
// { ... } }): apply, locking between runs, force-unlock, the lock released
// on success, error and Ctrl-C, state pull and push with their serial and
// lineage checks, and the migration of a local state into S3.

const (
	stateBucket = "team-state"
	stateKey    = "stacks/web/state.json"
)

// s3Backend is the backend block for the test bucket. An empty endpoint
// leaves it to AWS_ENDPOINT_URL (so a proxy sees the state traffic too).
func s3Backend(endpoint string) string {
	ep := ""
	if endpoint != "" {
		ep = fmt.Sprintf("\n    endpoint = %q", endpoint)
	}
	return fmt.Sprintf(`
mlops {
  backend "s3" {
    bucket   = %q
    key      = %q
    region   = "eu-west-1"%s
  }
}
`, stateBucket, stateKey, ep)
}

// s3 is an SDK client on moto's S3.
func (s *stack) s3() *s3.Client {
	return s3.New(s3.Options{
		Region:       testworld.MotoRegion,
		BaseEndpoint: awssdk.String(s.moto.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   testworld.NewCountingClient(),
	})
}

func (s *stack) createBucket() {
	s.t.Helper()
	_, err := s.s3().CreateBucket(context.Background(), &s3.CreateBucketInput{
		Bucket: awssdk.String(stateBucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(testworld.MotoRegion),
		},
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// object returns an object of the state bucket, nil when it does not exist.
func (s *stack) object(key string) []byte {
	s.t.Helper()
	out, err := s.s3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: awssdk.String(stateBucket), Key: awssdk.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *stack) putObject(key string, body []byte) {
	s.t.Helper()
	_, err := s.s3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: awssdk.String(stateBucket), Key: awssdk.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		s.t.Fatal(err)
	}
}

// remoteState decodes the state object; it fails the test when it is
// missing or does not load.
func (s *stack) remoteState() *state.State {
	s.t.Helper()
	b := s.object(stateKey)
	if b == nil {
		s.t.Fatalf("no state object s3://%s/%s", stateBucket, stateKey)
	}
	st, err := state.Decode(b)
	if err != nil {
		s.t.Fatalf("the state object does not load: %v\n%s", err, b)
	}
	return st
}

func (s *stack) lockObject() []byte { return s.object(stateKey + ".lock") }

// checkUnlocked fails the test when the lock object exists.
func (s *stack) checkUnlocked(when string) {
	s.t.Helper()
	if l := s.lockObject(); l != nil {
		s.t.Errorf("%s: the lock object is still there: %s", when, l)
	}
}

var lockIDRe = regexp.MustCompile(`lock ID ([0-9a-f]+); if that run is gone: mlops force-unlock ([0-9a-f]+)`)

func TestS3StateApplyAndLockRelease(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
	s.createBucket()

	r := s.must(0, "apply", "-auto-approve")
	contains(t, r, "Apply complete! Resources: 1 added")
	if _, err := os.Stat(s.statePath()); err == nil {
		t.Errorf("apply with an s3 backend wrote a local state")
	}
	st := s.remoteState()
	if st.Resource("aws_security_group.web") == nil || len(st.Outputs) != 1 {
		t.Fatalf("state in S3 lacks the group or the output: %+v", st)
	}
	s.checkUnlocked("after a successful apply")
	s.must(0, "plan", "-detailed-exitcode")
	r = s.must(0, "output", "-raw", "sg")
	if !strings.HasPrefix(r.stdout, "sg-") {
		t.Errorf("output from S3 state = %q", r.stdout)
	}

	// A failing apply releases the lock: CreateSecurityGroup always fails.
	p := testworld.StartFaultProxy(t, s.endpoint())
	p.SetFaults(testworld.Faults{Rate: 1, Kinds: []testworld.FaultKind{testworld.FaultServerError}, Only: action("CreateSecurityGroup")})
	s.writeConfig(smallConfig + `resource "aws_security_group" "db" { name = "db" }` + s3Backend(s.moto.Endpoint()))
	r = s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL(), "AWS_MAX_ATTEMPTS=1"}, "apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply with a failing create: %s", r)
	}
	containsFlat(t, r, "Error creating security group db")
	s.checkUnlocked("after a failed apply")
	s.must(0, "apply", "-auto-approve")
	s.checkUnlocked("after the apply that fixed it")
}

// pausedApply starts an apply whose EC2 traffic goes through a proxy that
// holds the first request of action until release is called (or the run
// exits); paused is closed when it is held.
func (s *stack) pausedApply(action string) (v *victim, release func(), paused chan struct{}) {
	s.t.Helper()
	p := testworld.StartFaultProxy(s.t, s.endpoint())
	paused = make(chan struct{})
	gate := make(chan struct{})
	var pauseOnce, releaseOnce sync.Once
	release = func() { releaseOnce.Do(func() { close(gate) }) }
	s.t.Cleanup(release)
	v = s.newVictim(p, nil, "apply", "-auto-approve")
	v.start(p, func(x testworld.Exchange) bool {
		if x.Action != action {
			return false
		}
		first := false
		pauseOnce.Do(func() { first = true })
		if !first {
			return false
		}
		close(paused)
		select {
		case <-gate:
			return false
		case <-v.exited:
			return true // never forward a dead run's request
		}
	}, nil)
	return v, release, paused
}

func waitFor(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestS3LockRefusesSecondRunAndForceUnlock(t *testing.T) {
	s := newStack(t, nil)
	cfg := smallConfig + s3Backend(s.moto.Endpoint())
	s.writeConfig(cfg)
	s.createBucket()

	// The first apply holds the lock while its CreateSecurityGroup is held
	// by the proxy.
	first, release, paused := s.pausedApply("CreateSecurityGroup")
	waitFor(t, "the first apply to reach CreateSecurityGroup", paused)
	lock := s.lockObject()
	if lock == nil {
		t.Fatal("no lock object while an apply runs")
	}
	var holder state.LockInfo
	if err := json.Unmarshal(lock, &holder); err != nil {
		t.Fatal(err)
	}
	r := s.must(1, "apply", "-auto-approve")
	containsFlat(t, r, "Error acquiring the state lock", fmt.Sprintf("state is locked by %s for \"apply\" since %s", holder.Who, holder.Created.UTC().Format(time.RFC3339)),
		"lock ID "+holder.ID, "mlops force-unlock "+holder.ID)
	if !strings.Contains(holder.Who, "@") || holder.Version == "" || holder.Path != "s3://"+stateBucket+"/"+stateKey+".lock" {
		t.Errorf("lock info = %+v", holder)
	}
	s.must(1, "plan") // plan takes the lock too
	release()
	if k := first.wait(); k != "" || first.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("the first apply: exit %d\n%s", first.cmd.ProcessState.ExitCode(), first.out.String())
	}
	s.checkUnlocked("after the first apply")

	// A lock left by a run that is gone (written as another user would).
	stale := fmt.Sprintf(`{"id":"0123456789abcdef","operation":"apply","who":"alice@laptop","created":"2024-05-01T10:00:00Z","path":"s3://%s/%s.lock"}`, stateBucket, stateKey)
	s.putObject(stateKey+".lock", []byte(stale))
	r = s.must(1, "apply", "-auto-approve")
	containsFlat(t, r, `state is locked by alice@laptop for "apply" since 2024-05-01T10:00:00Z; lock ID 0123456789abcdef; if that run is gone: mlops force-unlock 0123456789abcdef`)
	r = s.must(1, "force-unlock", "fedcba9876543210")
	containsFlat(t, r, "the lock has ID 0123456789abcdef (alice@laptop for \"apply\"), not fedcba9876543210")
	if s.lockObject() == nil {
		t.Fatal("force-unlock with the wrong ID removed the lock")
	}
	r = s.must(0, "force-unlock", "0123456789abcdef")
	contains(t, r, "Released lock 0123456789abcdef on s3://"+stateBucket+"/"+stateKey)
	s.checkUnlocked("after force-unlock")
	r = s.must(0, "force-unlock", "0123456789abcdef")
	contains(t, r, "The state is not locked.")
	s.must(0, "plan", "-detailed-exitcode")
}

// TestS3LockReleasedOnInterrupt: Ctrl-C while an operation is in flight
// finishes it, saves the state and releases the lock; two Ctrl-C exit at
// once and release it too.
func TestS3LockReleasedOnInterrupt(t *testing.T) {
	for _, signals := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d_interrupts", signals), func(t *testing.T) {
			s := newStack(t, nil)
			s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
			s.createBucket()
			v, release, paused := s.pausedApply("CreateSecurityGroup")
			waitFor(t, "the apply to reach CreateSecurityGroup", paused)
			for i := 0; i < signals; i++ {
				if i > 0 {
					time.Sleep(200 * time.Millisecond) // let the first one be handled
				}
				if err := v.cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			}
			if signals == 1 {
				time.Sleep(200 * time.Millisecond)
				release() // the operation in flight finishes
			}
			v.wait()
			if code := v.cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("interrupted apply: exit %d\n%s", code, v.out.String())
			}
			if !strings.Contains(v.out.String(), "Interrupt") {
				t.Errorf("no interrupt message:\n%s", v.out.String())
			}
			s.checkUnlocked("after the interrupt")
			s.must(0, "apply", "-auto-approve")
			if n := s.securityGroupsNamed("web"); n != 1 {
				t.Errorf("%d groups named web after resuming", n)
			}
			s.checkUnlocked("after resuming")
		})
	}
}

func TestS3PullPush(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
	s.createBucket()
	s.must(0, "apply", "-auto-approve")

	r := s.must(0, "state", "pull")
	pulled, err := state.Decode([]byte(r.stdout))
	if err != nil {
		t.Fatalf("state pull is not a state: %v\n%s", err, r.stdout)
	}
	if remote := s.remoteState(); pulled.Serial != remote.Serial || pulled.Lineage != remote.Lineage {
		t.Fatalf("pulled serial %d lineage %s, S3 holds %d %s", pulled.Serial, pulled.Lineage, remote.Serial, remote.Lineage)
	}
	old := filepath.Join(t.TempDir(), "old.json")
	os.WriteFile(old, []byte(r.stdout), 0o600)

	// Move on: the pulled file is now older than S3.
	s.must(0, "apply", "-auto-approve", "-var", "port=2222")
	newer := s.remoteState()
	before := s.object(stateKey)
	r = s.must(1, "state", "push", old)
	containsFlat(t, r, fmt.Sprintf("the file has serial %d, the state in s3://%s/%s serial %d: it is older", pulled.Serial, stateBucket, stateKey, newer.Serial))
	if !bytes.Equal(before, s.object(stateKey)) {
		t.Fatal("a refused push changed the state")
	}

	// Another stack's state is refused.
	other := state.New(state.NewLineage())
	other.Serial = newer.Serial + 5
	b, _ := other.Encode()
	otherFile := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(otherFile, b, 0o600)
	r = s.must(1, "state", "push", otherFile)
	containsFlat(t, r, "differs from the stored state's "+newer.Lineage, "another stack")
	if !bytes.Equal(before, s.object(stateKey)) {
		t.Fatal("a refused push changed the state")
	}

	// The current state, edited, goes in with the next serial.
	r = s.must(0, "state", "pull")
	cur, _ := state.Decode([]byte(r.stdout))
	cur.Outputs = nil
	b, _ = cur.Encode()
	curFile := filepath.Join(t.TempDir(), "cur.json")
	os.WriteFile(curFile, b, 0o600)
	r = s.must(0, "state", "push", curFile)
	contains(t, r, "Pushed the state to s3://"+stateBucket+"/"+stateKey)
	if got := s.remoteState(); got.Serial != newer.Serial+1 || len(got.Outputs) != 0 {
		t.Errorf("after push: serial %d (want %d), outputs %v", got.Serial, newer.Serial+1, got.Outputs)
	}
	s.checkUnlocked("after push")
}

func TestS3MigrationFromLocalState(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig)
	s.must(0, "apply", "-auto-approve")
	local := s.loadableState("local apply")
	localBytes, _ := os.ReadFile(s.statePath())
	s.createBucket()

	// The backend block is added: the next plan moves the state.
	s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
	r := s.must(0, "plan", "-detailed-exitcode")
	migrated := s.statePath() + ".migrated"
	msg := fmt.Sprintf("Migrated the state from .mlops/state.json to s3://%s/%s; kept the local file as .mlops/state.json.migrated.", stateBucket, stateKey)
	contains(t, r, msg, "No changes.")
	if n := strings.Count(r.stdout+r.stderr, "Migrated"); n != 1 {
		t.Errorf("migration reported %d times", n)
	}
	if _, err := os.Stat(s.statePath()); err == nil {
		t.Errorf("the local state file is still in place")
	}
	if b, err := os.ReadFile(migrated); err != nil || !bytes.Equal(b, localBytes) {
		t.Errorf("the local state was not kept as it was in %s: %v", migrated, err)
	}
	remote := s.remoteState()
	if remote.Lineage != local.Lineage || remote.Resource("aws_security_group.web") == nil {
		t.Fatalf("S3 holds lineage %s, want %s with the group", remote.Lineage, local.Lineage)
	}
	s.checkUnlocked("after migration")
	r = s.must(0, "apply", "-auto-approve", "-var", "port=2222")
	if strings.Contains(r.stdout+r.stderr, "Migrated") {
		t.Errorf("migrated twice:\n%s", r)
	}
	if n := s.securityGroupsNamed("web"); n != 1 {
		t.Errorf("%d groups named web after migration and apply", n)
	}
}

func TestS3MigrationRefusesAnotherStack(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(smallConfig)
	s.must(0, "apply", "-auto-approve")
	localBytes, _ := os.ReadFile(s.statePath())
	s.createBucket()
	other := state.New(state.NewLineage())
	other.Serial = 3
	b, _ := other.Encode()
	s.putObject(stateKey, b)

	s.writeConfig(smallConfig + s3Backend(s.moto.Endpoint()))
	r := s.must(1, "apply", "-auto-approve")
	containsFlat(t, r, "Cannot migrate the state", "different stack (lineage "+other.Lineage,
		"left as it is")
	if got, _ := os.ReadFile(s.statePath()); !bytes.Equal(got, localBytes) {
		t.Errorf("the local state changed")
	}
	if _, err := os.Stat(s.statePath() + ".migrated"); err == nil {
		t.Errorf("the local state was renamed although it was not migrated")
	}
	if !bytes.Equal(s.object(stateKey), b) {
		t.Errorf("the other stack's state in S3 changed")
	}
	s.checkUnlocked("after a refused migration")
	if n := s.securityGroupsNamed("web"); n != 1 {
		t.Errorf("%d groups named web", n)
	}
}
