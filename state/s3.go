package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/mlops-dev/mlops/internal/ctxsleep"
)

// S3 keeps state in an S3 object.
//
// The lock is a separate object, KEY.lock, holding the holder's LockInfo as
// JSON. Lock creates it with a conditional PutObject (If-None-Match: *), so
// exactly one run can create it; unlock and ForceUnlock delete it only while
// it still carries the expected lock ID (a conditional delete on the ETag
// just read). Unlike a local lock, an S3 lock outlives a killed run; that is
// what ForceUnlock is for.
//
// Write is a compare-and-swap: it reads the current object, applies the
// serial and lineage checks of Store.Write, and puts the new state with
// If-Match on the ETag it read (If-None-Match: * when there was none), so a
// writer that raced in between makes the put fail with a *StaleError rather
// than be overwritten. S3 keeps no backup copy; enable bucket versioning for
// that.
type S3 struct {
	client      *s3.Client
	bucket, key string
}

var _ Store = (*S3)(nil)

// NewS3 returns a store for the object key in bucket, using client.
func NewS3(client *s3.Client, bucket, key string) *S3 {
	return &S3{client: client, bucket: bucket, key: key}
}

// S3Options are the settings of the s3 backend.
type S3Options struct {
	Bucket string
	Key    string
	// Region defaults to the AWS environment and profile settings.
	Region string
	// Endpoint, when set, replaces the AWS endpoint (an S3-compatible
	// service, or moto in tests); it also selects path-style addressing,
	// so no bucket host name is looked up.
	Endpoint string
	// Profile is the shared-config profile; "" means the default chain.
	Profile string
	// HTTPClient replaces the SDK's HTTP client when not nil.
	HTTPClient aws.HTTPClient
	// ResponseTimeout bounds the wait for each S3 response when HTTPClient
	// is nil (0: no bound).
	ResponseTimeout time.Duration
}

// OpenS3 builds an S3 store from settings. It reads the AWS environment and
// shared config files but makes no network request; credentials are
// resolved on first use.
func OpenS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3 backend: bucket is required")
	}
	if o.Key == "" {
		return nil, errors.New("s3 backend: key is required")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	if o.HTTPClient == nil && o.ResponseTimeout > 0 {
		opts = append(opts, awsconfig.WithHTTPClient(timeoutClient(o.ResponseTimeout)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 backend: %w", err)
	}
	// An injected client replaces the SDK's after loading: passed as an
	// option it would make loading fail when AWS_CA_BUNDLE is set (the SDK
	// adds a bundle only to its own client type); it brings its own TLS
	// settings.
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	if cfg.Region == "" {
		return nil, errors.New("s3 backend: no region: set region in the backend block, AWS_REGION, or the profile")
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		// S3-compatible stores (and moto) answer GetObject without a
		// checksum; the SDK would log a DEBUG line to stderr each time.
		so.DisableLogOutputChecksumValidationSkipped = true
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	return NewS3(client, o.Bucket, o.Key), nil
}

// Describe implements Store.
func (s *S3) Describe() string { return "s3://" + s.bucket + "/" + s.key }

func (s *S3) lockKey() string { return s.key + ".lock" }

// unlockTimeout bounds the delete of the lock object, which runs even when
// the run's context was cancelled (Ctrl-C must still release the lock).
const unlockTimeout = 30 * time.Second

// Lock implements Store. It never waits for the holder: a held lock returns
// a *LockedError with the holder's info.
func (s *S3) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	info = info.fill("s3://" + s.bucket + "/" + s.lockKey())
	body, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:      aws.String(s.bucket),
			Key:         aws.String(s.lockKey()),
			Body:        bytes.NewReader(body),
			ContentType: aws.String("application/json"),
			IfNoneMatch: aws.String("*"),
		})
		if err == nil {
			break
		}
		retry := attempt < 5
		switch {
		case isPreconditionFailed(err):
			holder, _, rerr := s.readLock(ctx)
			if errors.Is(rerr, ErrNotLocked) && retry {
				continue // released between our put and our get
			}
			if rerr != nil {
				return nil, fmt.Errorf("state at %s is locked, and reading the lock failed: %w", s.Describe(), rerr)
			}
			if holder.ID == info.ID {
				// An earlier attempt of this put succeeded but its answer
				// was lost, and the SDK's retry found our own lock.
				return s.unlockFunc(ctx, info), nil
			}
			return nil, &LockedError{Info: holder}
		case isConflict(err) && retry:
			// Another conditional write on the same key is in flight;
			// S3 asks to try again.
			if err := ctxsleep.Sleep(ctx, time.Duration(attempt)*100*time.Millisecond); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("locking state at %s: %w", s.Describe(), err)
		}
	}
	return s.unlockFunc(ctx, info), nil
}

// unlockFunc returns the unlock function of the lock info.
func (s *S3) unlockFunc(ctx context.Context, info LockInfo) func() error {
	return sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		return s.deleteLock(ctx, info.ID, "unlocking")
	})
}

// ForceUnlock implements Store. It returns ErrNotLocked when there is no
// lock object.
func (s *S3) ForceUnlock(ctx context.Context, id string) error {
	return s.deleteLock(ctx, id, "force-unlock")
}

// deleteLock removes the lock object if it carries id.
func (s *S3) deleteLock(ctx context.Context, id, op string) error {
	holder, etag, err := s.readLock(ctx)
	if err != nil {
		return fmt.Errorf("%s state at %s: %w", op, s.Describe(), err)
	}
	if holder.ID != id {
		return fmt.Errorf("%s state at %s: the lock has ID %s (%s for %q), not %s; it was force-unlocked and taken by another run",
			op, s.Describe(), holder.ID, holder.Who, holder.Operation, id)
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket:  aws.String(s.bucket),
		Key:     aws.String(s.lockKey()),
		IfMatch: etag,
	})
	switch {
	case err == nil:
		return nil
	case isPreconditionFailed(err) || isNoSuchKey(err):
		// A retried delete whose first attempt reached S3 (its answer
		// was lost) finds the lock gone: that is success.
		if _, _, rerr := s.readLock(ctx); errors.Is(rerr, ErrNotLocked) {
			return nil
		}
		return fmt.Errorf("%s state at %s: the lock changed while it was being removed; run the command again", op, s.Describe())
	default:
		return fmt.Errorf("%s state at %s: %w", op, s.Describe(), err)
	}
}

// readLock returns the lock object's info and ETag, or ErrNotLocked.
func (s *S3) readLock(ctx context.Context) (LockInfo, *string, error) {
	data, etag, err := s.get(ctx, s.lockKey())
	if err != nil {
		return LockInfo{}, nil, err
	}
	if data == nil {
		return LockInfo{}, nil, ErrNotLocked
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return LockInfo{}, nil, fmt.Errorf("lock object s3://%s/%s is not a lock: %w", s.bucket, s.lockKey(), err)
	}
	return info, etag, nil
}

// Read implements Store.
func (s *S3) Read(ctx context.Context) (*State, error) {
	data, _, err := s.get(ctx, s.key)
	if err != nil {
		return nil, fmt.Errorf("reading state from %s: %w", s.Describe(), err)
	}
	if data == nil {
		return nil, nil
	}
	st, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Describe(), err)
	}
	return st, nil
}

// Write implements Store; see Store for the serial semantics and S3 for the
// conditional put.
func (s *S3) Write(ctx context.Context, st *State) error {
	old, etag, err := s.get(ctx, s.key)
	if err != nil {
		return fmt.Errorf("writing state to %s: %w", s.Describe(), err)
	}
	var stored *State
	if old != nil {
		if stored, err = Decode(old); err != nil {
			return fmt.Errorf("refusing to overwrite %s: %w", s.Describe(), err)
		}
	}
	serial, err := checkWrite(s.Describe(), stored, st)
	if err != nil {
		return err
	}
	data, err := encodeForWrite(st, serial)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(s.key),
		Body:        bytes.NewReader(data),
		ContentType: aws.String("application/json"),
	}
	if old == nil {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = etag
	}
	_, err = s.client.PutObject(ctx, in)
	switch {
	case err == nil:
		st.Serial = serial
		return nil
	case isPreconditionFailed(err) || isConflict(err) || (old != nil && isNoSuchKey(err)):
		if now, _, rerr := s.get(ctx, s.key); rerr == nil && bytes.Equal(now, data) {
			// An earlier attempt of this put succeeded but its answer was
			// lost; the SDK's retry failed on our own write.
			st.Serial = serial
			return nil
		}
		e := &StaleError{Where: s.Describe(), WrittenLineage: st.Lineage, WrittenSerial: st.Serial, Concurrent: true}
		if stored != nil {
			e.StoredLineage, e.StoredSerial = stored.Lineage, stored.Serial
		}
		return e
	default:
		return fmt.Errorf("writing state to %s: %w", s.Describe(), err)
	}
}

// get returns an object's content and ETag, or nil content when the object
// does not exist. A missing bucket is an error, not an empty state.
func (s *S3) get(ctx context.Context, key string) ([]byte, *string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if isNoSuchKey(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, nil, err
	}
	return data, out.ETag, nil
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNoSuchKey(err error) bool {
	return err != nil && apiCode(err) == "NoSuchKey"
}

func isPreconditionFailed(err error) bool {
	return err != nil && (apiCode(err) == "PreconditionFailed" || httpStatus(err) == http.StatusPreconditionFailed)
}

func isConflict(err error) bool {
	return err != nil && (apiCode(err) == "ConditionalRequestConflict" || httpStatus(err) == http.StatusConflict)
}
