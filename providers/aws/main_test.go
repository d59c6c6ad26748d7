package aws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// The tests of this package share one moto server (started on first use)
// and reset it at the start of each test that uses it, so they do not run
// in parallel.
func TestMain(m *testing.M) {
	// Belt and braces: whatever the SDK's default chain reads from the
	// process environment must not lead it to a real account or to the
	// instance metadata service.
	dir, err := os.MkdirTemp("", "mlops-aws-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	code := testworld.MotoMain(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testStack     = "teststack"
	canonical     = "099720109477"
	jammyPattern  = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
	jammyNewest   = "ami-0a1b2c3d4e5f60718"
	jammyOlder    = "ami-0b2c3d4e5f6071829"
	otherOwnerAMI = "ami-0d4e5f60718293a41"
)

// world is one test's view of moto: a provider wired to it through a
// counting client, an SDK client for arranging and inspecting, a HOME.
type world struct {
	t      *testing.T
	moto   *testworld.Moto
	counts *testworld.CountingClient
	p      *Provider
	ec2    *ec2.Client
	home   string
	ctx    context.Context
}

// newWorld resets the shared moto server and configures a provider for it.
// wrap, if not nil, wraps the counting client (fault injection, recording).
func newWorld(t *testing.T, wrap func(awssdk.HTTPClient) awssdk.HTTPClient) *world {
	t.Helper()
	m := testworld.SharedMoto(t)
	m.Reset(t)
	w := &world{t: t, moto: m, counts: testworld.NewCountingClient(), home: t.TempDir(), ctx: context.Background()}
	var hc awssdk.HTTPClient = w.counts
	if wrap != nil {
		hc = wrap(hc)
	}
	w.p = New(Options{
		HTTPClient:   hc,
		Env:          append(m.Env(), "HOME="+w.home),
		Sleep:        func(context.Context, time.Duration) error { return nil },
		PollInterval: time.Second,
		WaitTimeout:  time.Minute,
		MaxBackoff:   time.Millisecond,
	})
	resp := w.p.Configure(w.ctx, providers.ConfigureRequest{Config: cty.ObjectVal(map[string]cty.Value{
		"region":   cty.StringVal(testworld.MotoRegion),
		"profile":  cty.NullVal(cty.String),
		"endpoint": cty.StringVal(m.Endpoint()),
	})})
	noErrors(t, resp.Diagnostics)
	// The arranging client does not count: tests assert the provider's calls.
	w.ec2 = ec2.New(ec2.Options{
		Region:       testworld.MotoRegion,
		BaseEndpoint: awssdk.String(m.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   testworld.NewCountingClient(),
	})
	return w
}

func noErrors(t testing.TB, diags hcl.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %s", diagText(diags))
	}
}

func diagText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "[%v] %s: %s\n", d.Severity, d.Summary, d.Detail)
	}
	return b.String()
}

func resourceAddr(t string, name string) addrs.Resource {
	return addrs.Resource{Mode: addrs.Managed, Type: t, Name: name}
}

func ownerTags(addr addrs.Resource) map[string]string {
	return map[string]string{tagStack: testStack, tagAddress: addr.String()}
}

// configOf builds a configuration value the way config.EvalResource does:
// the given attributes, defaults for unset optional ones, null for the rest
// (nested block objects get the same treatment).
func configOf(b *schema.Block, attrs map[string]cty.Value) cty.Value {
	vals := map[string]cty.Value{}
	for name, a := range b.Attributes {
		v, ok := attrs[name]
		switch {
		case ok:
			vals[name] = conformTo(v, a.Type)
		case a.Default != cty.NilVal:
			vals[name] = a.Default
		default:
			vals[name] = cty.NullVal(a.Type)
		}
	}
	for name, nb := range b.BlockTypes {
		ety := nb.Block.ImpliedType()
		v, ok := attrs[name]
		if nb.Nesting == schema.NestingSingle {
			vals[name] = cty.NullVal(ety)
			if ok && !v.IsNull() {
				vals[name] = configOf(&nb.Block, v.AsValueMap())
			}
			continue
		}
		if !ok || v.LengthInt() == 0 {
			vals[name] = cty.ListValEmpty(ety)
			continue
		}
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, configOf(&nb.Block, e.AsValueMap()))
		}
		vals[name] = cty.ListVal(elems)
	}
	return cty.ObjectVal(vals)
}

func instanceConfig(attrs map[string]cty.Value) cty.Value {
	return configOf(&instanceSchema().Block, attrs)
}

func groupConfig(attrs map[string]cty.Value) cty.Value {
	return configOf(&securityGroupSchema().Block, attrs)
}

func keyPairConfig(attrs map[string]cty.Value) cty.Value {
	return configOf(&keyPairSchema().Block, attrs)
}

func rule(port int64, cidrs ...string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"port": cty.NumberIntVal(port), "cidr_blocks": stringList(cidrs)})
}

// applied is the outcome of one plan and apply round.
type applied struct {
	plan     providers.PlanChangeResponse
	resp     providers.ApplyChangeResponse
	created  []cty.Value
	progress []string
}

// plan asks for a plan and fails the test on errors.
func (w *world) plan(addr addrs.Resource, prior, cfg cty.Value) providers.PlanChangeResponse {
	w.t.Helper()
	resp := w.p.PlanChange(w.ctx, providers.PlanChangeRequest{Addr: addr, Prior: prior, Config: cfg})
	noErrors(w.t, resp.Diagnostics)
	return resp
}

// apply plans and applies like the engine does; it fails the test on errors.
func (w *world) apply(addr addrs.Resource, prior, cfg cty.Value) applied {
	w.t.Helper()
	var a applied
	a.plan = w.plan(addr, prior, cfg)
	if len(a.plan.RequiresReplace) > 0 {
		w.t.Fatalf("apply helper: plan of %s requires replacement: %v", addr, a.plan.RequiresReplace)
	}
	a.resp = w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{
		Addr: addr, Prior: prior, Planned: a.plan.Planned, Config: cfg, Tags: ownerTags(addr),
		Created:  func(v cty.Value) { a.created = append(a.created, v) },
		Progress: func(s string) { a.progress = append(a.progress, s) },
	})
	noErrors(w.t, a.resp.Diagnostics)
	checkConforms(w.t, addr, a.resp.NewState)
	return a
}

// destroy applies a delete.
func (w *world) destroy(addr addrs.Resource, prior cty.Value) providers.ApplyChangeResponse {
	w.t.Helper()
	resp := w.p.ApplyChange(w.ctx, providers.ApplyChangeRequest{
		Addr: addr, Prior: prior, Planned: cty.NullVal(prior.Type()), Config: cty.NullVal(prior.Type()), Tags: ownerTags(addr)})
	noErrors(w.t, resp.Diagnostics)
	if !resp.NewState.IsNull() {
		w.t.Fatalf("delete of %s left state %#v", addr, resp.NewState)
	}
	return resp
}

// refresh refreshes objects and returns their states in order.
func (w *world) refresh(objs ...providers.ResourceObject) []cty.Value {
	w.t.Helper()
	resp := w.p.Refresh(w.ctx, providers.RefreshRequest{Resources: objs})
	noErrors(w.t, resp.Diagnostics)
	if len(resp.States) != len(objs) {
		w.t.Fatalf("Refresh returned %d states for %d objects", len(resp.States), len(objs))
	}
	return resp.States
}

// checkConforms fails if a state value does not have its schema's type or
// holds unknowns.
func checkConforms(t testing.TB, addr addrs.Resource, v cty.Value) {
	t.Helper()
	var rs *schema.Resource
	switch addr.Type {
	case "aws_instance":
		rs = instanceSchema()
	case "aws_security_group":
		rs = securityGroupSchema()
	case "aws_key_pair":
		rs = keyPairSchema()
	case "aws_eip":
		rs = eipSchema()
	case "aws_ami":
		rs = amiSchema()
	}
	if !v.Type().Equals(rs.ImpliedType()) {
		t.Fatalf("%s state has type %#v, want %#v", addr, v.Type(), rs.ImpliedType())
	}
	if !v.IsWhollyKnown() {
		t.Fatalf("%s state holds unknown values: %#v", addr, v)
	}
}

// faultClient answers some requests itself, by action, before passing the
// rest to next: the way to make moto fail the way AWS does.
type faultClient struct {
	next awssdk.HTTPClient
	mu   sync.Mutex
	// faults maps an action to the errors to return, in order; each is
	// used once.
	faults map[string][]fault
	// bodies records every request body sent.
	bodies []string
}

type fault struct {
	status int
	code   string
	msg    string
}

func (f *faultClient) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	form, _ := url.ParseQuery(string(body))
	action := form.Get("Action")
	f.mu.Lock()
	f.bodies = append(f.bodies, string(body))
	var flt *fault
	if list := f.faults[action]; len(list) > 0 {
		flt = &list[0]
		f.faults[action] = list[1:]
	}
	f.mu.Unlock()
	if flt == nil {
		return f.next.Do(req)
	}
	xml := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>test-fault</RequestID></Response>`, flt.code, flt.msg)
	return &http.Response{
		StatusCode: flt.status, Status: fmt.Sprintf("%d %s", flt.status, http.StatusText(flt.status)),
		Header:  http.Header{"Content-Type": {"text/xml"}},
		Body:    io.NopCloser(strings.NewReader(xml)),
		Request: req, ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}
