package state

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/internal/testworld"
)

const (
	testBucket = "mlops-state"
	testKey    = "stacks/web/state.json"
)

// s3World is a clean moto account with the state bucket created.
type s3World struct {
	moto   *testworld.Moto
	http   *testworld.CountingClient
	client *s3.Client // the client OpenS3 built, for poking at objects
}

// newS3World resets the shared moto server, points the AWS environment at
// it (static credentials, no metadata service, no shared config files) and
// creates the bucket.
func newS3World(t *testing.T) *s3World {
	t.Helper()
	m := testworld.SharedMoto(t)
	m.Reset(t)
	isolateAWSEnv(t)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "AWS_ENDPOINT_URL" {
			continue // OpenS3 must work from S3Options.Endpoint alone
		}
		t.Setenv(k, v)
	}

	w := &s3World{moto: m, http: testworld.NewCountingClient()}
	st := w.open(t, testKey, w.http)
	w.client = st.client
	_, err := w.client.CreateBucket(context.Background(), &s3.CreateBucketInput{
		Bucket: aws.String(testBucket),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(testworld.MotoRegion),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// isolateAWSEnv empties every AWS_ variable of the environment (such as a
// CA bundle, a profile or a real region) and points the shared config files
// at nothing, for the rest of the test.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
		}
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
}

func (w *s3World) open(t *testing.T, key string, hc aws.HTTPClient) *S3 {
	t.Helper()
	st, err := OpenS3(context.Background(), S3Options{
		Bucket: testBucket, Key: key, Region: testworld.MotoRegion,
		Endpoint: w.moto.Endpoint(), HTTPClient: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// store returns a new S3 store on the test key, as another run would.
func (w *s3World) store(t *testing.T) *S3 { return w.open(t, testKey, w.http) }

func (w *s3World) object(t *testing.T, key string) []byte {
	t.Helper()
	data, _, err := w.store(t).get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (w *s3World) put(t *testing.T, key, body string) {
	t.Helper()
	_, err := w.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestS3ReadWriteRoundTrip(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	st := w.store(t)
	if got := st.Describe(); got != "s3://mlops-state/stacks/web/state.json" {
		t.Errorf("Describe() = %q", got)
	}
	if s, err := st.Read(ctx); s != nil || err != nil {
		t.Fatalf("Read of empty bucket = %v, %v; want nil, nil", s, err)
	}

	s := sample()
	s.Serial = 0
	if err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.Serial != 1 {
		t.Errorf("Serial after first Write = %d, want 1", s.Serial)
	}
	s.Resource("aws_instance.web").Layers = nil
	if err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := w.store(t).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Read after Write (-want +got):\n%s", diff)
	}
	if w.http.Total() == 0 {
		t.Error("the S3 client did not go through the loopback-only HTTP client")
	}
}

func TestS3MissingBucketIsNotAnEmptyState(t *testing.T) {
	w := newS3World(t)
	st, err := OpenS3(context.Background(), S3Options{Bucket: "no-such-bucket", Key: testKey, Region: testworld.MotoRegion,
		Endpoint: w.moto.Endpoint(), HTTPClient: w.http})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Read from a missing bucket = %v, %v; want a NoSuchBucket error", s, err)
	}
}

func TestS3StaleWriteRefused(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	st := w.store(t)
	if err := st.Write(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	a, err := st.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := a.DeepCopy()
	if err := st.Write(ctx, a); err != nil {
		t.Fatal(err)
	}
	written := w.object(t, testKey)

	var stale *StaleError
	err = w.store(t).Write(ctx, b)
	if !errors.As(err, &stale) || stale.Concurrent {
		t.Fatalf("Write of a stale state = %v, want *StaleError about the serial", err)
	}
	want := "refusing to write state to s3://mlops-state/stacks/web/state.json: it has changed since it was read (stored serial 9, this state is based on serial 8)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message:\n got %s\nwant %s...", err, want)
	}
	if err := st.Write(ctx, New(NewLineage())); !errors.As(err, &stale) || stale.StoredLineage == stale.WrittenLineage {
		t.Errorf("Write with another lineage = %v, want *StaleError about lineage", err)
	}
	if !bytes.Equal(written, w.object(t, testKey)) {
		t.Error("a refused Write changed the object")
	}
}

// hookClient runs before once, just before the first request that match
// accepts is sent.
type hookClient struct {
	next   aws.HTTPClient
	match  func(*http.Request) bool
	before func()
	once   sync.Once
}

func (h *hookClient) Do(req *http.Request) (*http.Response, error) {
	if h.match(req) {
		h.once.Do(h.before)
	}
	return h.next.Do(req)
}

func isStatePut(req *http.Request) bool {
	return req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/"+testKey)
}

// TestS3ConcurrentWriteRefused races another writer in between Write's read
// and its put: the conditional put must fail instead of overwriting.
func TestS3ConcurrentWriteRefused(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	if err := w.store(t).Write(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	mine, err := w.store(t).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var theirs []byte
	hc := &hookClient{next: w.http, match: isStatePut, before: func() {
		other, err := w.store(t).Read(ctx)
		if err == nil {
			other.RemoveResource("aws_instance.web")
			err = w.store(t).Write(ctx, other)
		}
		if err != nil {
			t.Errorf("the other writer: %v", err)
		}
		theirs = w.object(t, testKey)
	}}
	err = w.open(t, testKey, hc).Write(ctx, mine)
	var stale *StaleError
	if !errors.As(err, &stale) || !stale.Concurrent {
		t.Fatalf("racing Write = %v, want *StaleError with Concurrent", err)
	}
	if !strings.Contains(err.Error(), "another run changed it at the same time") {
		t.Errorf("message: %s", err)
	}
	if got := w.object(t, testKey); !bytes.Equal(got, theirs) {
		t.Errorf("the other writer's state was overwritten:\n%s", got)
	}

	// The same race on the very first write: If-None-Match protects it.
	w.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(testKey)})
	hc = &hookClient{next: w.http, match: isStatePut, before: func() {
		if err := w.store(t).Write(ctx, New("their-lineage")); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	}}
	err = w.open(t, testKey, hc).Write(ctx, New("my-lineage"))
	if !errors.As(err, &stale) || !stale.Concurrent {
		t.Fatalf("racing first Write = %v, want *StaleError with Concurrent", err)
	}
	if got, err := w.store(t).Read(ctx); err != nil || got.Lineage != "their-lineage" {
		t.Errorf("stored state = %+v, %v; want theirs", got, err)
	}
}

func TestS3BadObjectLeftAlone(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	const garbage = `{"version":1,"lineage":"l","resources":[`
	w.put(t, testKey, garbage)
	st := w.store(t)
	if _, err := st.Read(ctx); err == nil || !strings.Contains(err.Error(), "s3://mlops-state/stacks/web/state.json: state file is corrupt") {
		t.Errorf("Read = %v, want corrupt-state error", err)
	}
	if err := st.Write(ctx, New("l")); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("Write = %v, want refusal", err)
	}
	if got := string(w.object(t, testKey)); got != garbage {
		t.Errorf("object changed to %q", got)
	}
}

func TestS3LockConflict(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	a, b := w.store(t), w.store(t)
	created := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	unlock, err := a.Lock(ctx, LockInfo{Operation: "apply", Who: "alice@box", Version: "0.1.0", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, LockInfo{Operation: "destroy", Who: "bob@laptop"})
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Lock = %v, want *LockedError", err)
	}
	id := locked.Info.ID
	want := LockInfo{ID: id, Operation: "apply", Who: "alice@box", Version: "0.1.0", Created: created,
		Path: "s3://mlops-state/stacks/web/state.json.lock"}
	if diff := cmp.Diff(want, locked.Info); diff != "" || id == "" || locked.ReleasedOnExit {
		t.Errorf("holder info (-want +got):\n%s", diff)
	}
	wantMsg := `state is locked by alice@box for "apply" since 2026-05-06T07:08:09Z; lock ID ` + id + `; if that run is gone: mlops force-unlock ` + id
	if err.Error() != wantMsg {
		t.Errorf("message:\n got %s\nwant %s", err, wantMsg)
	}

	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if w.object(t, testKey+".lock") != nil {
		t.Error("lock object still there after unlock")
	}
	unlockB, err := b.Lock(ctx, LockInfo{Operation: "destroy"})
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
}

func TestS3UnlockAfterCancel(t *testing.T) {
	w := newS3World(t)
	ctx, cancel := context.WithCancel(context.Background())
	unlock, err := w.store(t).Lock(ctx, LockInfo{Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // Ctrl-C: the run's context ends before its deferred unlock
	if err := unlock(); err != nil {
		t.Fatalf("unlock after cancel: %v", err)
	}
	if w.object(t, testKey+".lock") != nil {
		t.Error("lock object still there")
	}
}

func TestS3ForceUnlock(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	if err := w.store(t).ForceUnlock(ctx, "nothing"); !errors.Is(err, ErrNotLocked) {
		t.Errorf("ForceUnlock without a lock = %v, want ErrNotLocked", err)
	}

	// A run takes the lock and is killed before it unlocks.
	goneUnlock, err := w.store(t).Lock(ctx, LockInfo{ID: "gone-run", Operation: "apply", Who: "alice@box"})
	if err != nil {
		t.Fatal(err)
	}
	st := w.store(t)
	if err := st.ForceUnlock(ctx, "wrong-id"); err == nil || !strings.Contains(err.Error(), "the lock has ID gone-run (alice@box for \"apply\"), not wrong-id") {
		t.Errorf("ForceUnlock with the wrong ID = %v", err)
	}
	if w.object(t, testKey+".lock") == nil {
		t.Fatal("ForceUnlock with the wrong ID removed the lock")
	}
	if err := st.ForceUnlock(ctx, "gone-run"); err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	unlock, err := st.Lock(ctx, LockInfo{ID: "new-run", Operation: "apply"})
	if err != nil {
		t.Fatalf("Lock after ForceUnlock: %v", err)
	}

	// The first run comes back to life and unlocks: it must not remove
	// the new run's lock.
	if err := goneUnlock(); err == nil || !strings.Contains(err.Error(), "taken by another run") {
		t.Errorf("stale unlock = %v, want refusal", err)
	}
	if _, err := w.store(t).Lock(ctx, LockInfo{}); !errors.As(err, new(*LockedError)) {
		t.Errorf("the new run's lock is gone: Lock = %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenS3Settings(t *testing.T) {
	ctx := context.Background()
	if _, err := OpenS3(ctx, S3Options{Key: "k", Region: "r"}); err == nil || err.Error() != "s3 backend: bucket is required" {
		t.Errorf("no bucket: %v", err)
	}
	if _, err := OpenS3(ctx, S3Options{Bucket: "b", Region: "r"}); err == nil || err.Error() != "s3 backend: key is required" {
		t.Errorf("no key: %v", err)
	}
	isolateAWSEnv(t)
	if _, err := OpenS3(ctx, S3Options{Bucket: "b", Key: "k"}); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("no region: %v", err)
	}
	st, err := OpenS3(ctx, S3Options{Bucket: "b", Key: "k", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if o := st.client.Options(); !o.UsePathStyle || aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" || o.Region != "eu-west-1" {
		t.Errorf("client options: path style %v, endpoint %v, region %v", o.UsePathStyle, aws.ToString(o.BaseEndpoint), o.Region)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	local := newLocal(t)
	remote := w.store(t)

	if res, err := Migrate(ctx, local, remote); res != MigrateNothing || err != nil {
		t.Fatalf("Migrate of nothing = %v, %v", res, err)
	}
	if w.object(t, testKey) != nil {
		t.Fatal("Migrate of nothing wrote a state")
	}

	src := sample()
	if err := local.Write(ctx, src); err != nil {
		t.Fatal(err)
	}
	before, err := local.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := Migrate(ctx, local, remote); res != MigrateCopied || err != nil {
		t.Fatalf("Migrate = %v, %v", res, err)
	}
	got, err := remote.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, got, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Serial" }, cmp.Ignore())); diff != "" {
		t.Errorf("migrated state (-local +s3):\n%s", diff)
	}
	if after, _ := local.Read(ctx); !cmp.Equal(before, after) {
		t.Error("Migrate changed the source")
	}
	// Both locks were released.
	for _, st := range []Store{local, remote} {
		unlock, err := st.Lock(ctx, LockInfo{Operation: "check"})
		if err != nil {
			t.Fatalf("%s still locked: %v", st.Describe(), err)
		}
		unlock()
	}

	if res, err := Migrate(ctx, local, remote); res != MigrateUpToDate || err != nil {
		t.Errorf("second Migrate = %v, %v; want MigrateUpToDate", res, err)
	}

	// The target moved on (someone already works against S3): refuse.
	got.RemoveResource("aws_instance.web")
	if err := remote.Write(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, local, remote); err == nil || !strings.Contains(err.Error(), "newer or different") {
		t.Errorf("Migrate onto a newer target = %v, want refusal", err)
	}

	// Another stack's state in the target: refuse, leave it alone.
	w.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(testKey)})
	other := New(NewLineage())
	if err := remote.Write(ctx, other); err != nil {
		t.Fatal(err)
	}
	otherBytes := w.object(t, testKey)
	_, err = Migrate(ctx, local, remote)
	var stale *StaleError
	if !errors.As(err, &stale) || !regexp.MustCompile(`^migrating state from local file .* to s3://mlops-state/stacks/web/state.json: .*different stack`).MatchString(err.Error()) {
		t.Errorf("Migrate onto another stack = %v, want *StaleError about lineage", err)
	}
	if !bytes.Equal(otherBytes, w.object(t, testKey)) {
		t.Error("refused Migrate changed the target")
	}

	// A held lock stops the migration.
	unlock, err := local.Lock(ctx, LockInfo{Operation: "apply", Who: "alice@box"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := Migrate(ctx, local, remote); !errors.As(err, new(*LockedError)) {
		t.Errorf("Migrate while locked = %v, want *LockedError", err)
	}
}

// TestS3LostAnswersAreOwnWrites: S3 carries out the lock's and the state's
// conditional puts but their answers are lost; the SDK's retry then fails
// its precondition on the store's own object, which must count as success.
func TestS3LostAnswersAreOwnWrites(t *testing.T) {
	ctx := context.Background()
	w := newS3World(t)
	p := testworld.StartFaultProxy(t, w.moto.Endpoint())
	dropped := 0
	p.AfterResponse(func(x testworld.Exchange) testworld.Verdict {
		if x.Method == "PUT" && x.Nth <= 2 { // two attempts; the third finds its own lock
			dropped++
			return testworld.Drop
		}
		return testworld.Pass
	})
	st, err := OpenS3(ctx, S3Options{Bucket: testBucket, Key: testKey, Region: testworld.MotoRegion, Endpoint: p.URL(), HTTPClient: w.http})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(ctx, LockInfo{Operation: "apply"})
	if err != nil {
		t.Fatalf("Lock after a lost answer: %v", err)
	}
	p.AfterResponse(func(x testworld.Exchange) testworld.Verdict {
		if x.Method == "PUT" && !strings.HasSuffix(x.Path, ".lock") && x.Nth <= 4 { // two attempts of the state's put
			dropped++
			return testworld.Drop
		}
		return testworld.Pass
	})
	s := sample()
	s.Serial = 0
	if err := st.Write(ctx, s); err != nil {
		t.Fatalf("Write after a lost answer: %v", err)
	}
	if s.Serial != 1 {
		t.Errorf("serial after write = %d, want 1", s.Serial)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if dropped < 2 {
		t.Fatalf("only %d answers were lost", dropped)
	}
	if w.object(t, testKey+".lock") != nil {
		t.Error("lock object still there")
	}
}
