// Package aws is the EC2 provider: the aws_instance, aws_security_group,
// aws_key_pair and aws_eip resources and the aws_ami data source, on
// aws-sdk-go-v2.
//
// Everything from outside is injected through Options: the HTTP client, the
// environment, the sleep used between polls. Configure makes no network
// call; the SDK configuration and the EC2 client are created on first use.
//
// Each resource type is one entry of the type table (resourcetypes.go): its
// schema and its validate, plan, create, update, delete, refresh and import
// functions, which live in the type's own file (keypair.go,
// securitygroup.go, instance.go, eip.go). The Provider methods only find
// the type in the table and dispatch: a new resource type is one file that
// defines its functions and a resourceType value, plus one line in
// resourceTypes; data sources likewise, in dataSourceTypes.
//
// Every object the provider creates carries the tags of the apply request
// (mlops:stack, mlops:address). Before creating one, the provider looks for
// an object already carrying them and adopts it: a run that died between the
// create call and the state write does not leave a second machine behind.
package aws

import (
	"context"
	"fmt"
	"github.com/mlops-dev/mlops/internal/ctxsleep"
	"net/url"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// Options are the provider's outside dependencies. The zero value works:
// the SDK's HTTP client, real sleeps, no environment.
type Options struct {
	// HTTPClient sends the EC2 API requests; nil means the SDK's default
	// client (which honours AWS_CA_BUNDLE). Credential providers of a
	// shared profile (SSO, STS) use the SDK's client.
	HTTPClient awssdk.HTTPClient
	// ResponseTimeout bounds the wait for each API response when
	// HTTPClient is nil (0: no bound).
	ResponseTimeout time.Duration
	// Env is the process environment, "KEY=VALUE". The provider reads
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (static
	// credentials, unless the provider block names a profile),
	// AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL (endpoint, unless the
	// provider block sets one), AWS_EC2_METADATA_DISABLED and HOME (for ~ in
	// private_key_file). The SDK's default credential chain (shared config
	// files, AWS_PROFILE...) still reads the real process environment.
	Env []string
	// WorkDir resolves relative private_key_file paths ("" = the process's
	// working directory).
	WorkDir string
	// Sleep waits between polls; nil means a timer that honours ctx. Tests
	// make it return at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the time between two polls of a waiter (default 5s).
	PollInterval time.Duration
	// WaitTimeout bounds each wait (instance running, stopped, terminated;
	// security group deletable). It is counted in polls, WaitTimeout /
	// PollInterval of them, so a fast Sleep keeps the bound meaningful.
	// Default 10 minutes.
	WaitTimeout time.Duration
	// MaxAttempts is the SDK retryer's attempt limit per API call, for
	// throttling and 5xx errors (default 8).
	MaxAttempts int
	// MaxBackoff caps the retryer's delay between attempts (default: the
	// SDK's, 20s). Tests make it short.
	MaxBackoff time.Duration
}

// Provider implements providers.Provider for AWS.
type Provider struct {
	opts Options
	env  map[string]string

	// resources and dataSources are the type tables (resourcetypes.go),
	// built once by New and never changed.
	resources   []resourceType
	dataSources []dataSourceType

	mu       sync.Mutex
	settings *settings   // from Configure; nil until configured
	client   *ec2.Client // created on first use
}

var _ providers.Provider = (*Provider)(nil)

// settings is the evaluated provider block.
type settings struct {
	region   string
	profile  string
	endpoint string
}

// New returns an unconfigured provider.
func New(opts Options) *Provider {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 10 * time.Minute
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Sleep == nil {
		opts.Sleep = ctxsleep.Sleep
	}
	env := map[string]string{}
	for _, kv := range opts.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	p := &Provider{opts: opts, env: env}
	p.resources = p.resourceTypes()
	p.dataSources = p.dataSourceTypes()
	return p
}

// Schemas implements providers.Provider.
func (p *Provider) Schemas() schema.Schemas {
	s := schema.Schemas{
		Provider:    map[string]*schema.Block{"aws": providerSchema()},
		Resources:   map[string]*schema.Resource{},
		DataSources: map[string]*schema.Resource{},
	}
	for _, t := range p.resources {
		s.Resources[t.name] = t.schema()
	}
	for _, d := range p.dataSources {
		s.DataSources[d.name] = d.schema()
	}
	return s
}

// Configure implements providers.Provider. It only records the settings.
func (p *Provider) Configure(ctx context.Context, req providers.ConfigureRequest) providers.ConfigureResponse {
	cfg := req.Config
	if cfg.IsNull() || !cfg.IsWhollyKnown() {
		return providers.ConfigureResponse{Diagnostics: providers.ErrorDiag("Invalid aws provider configuration",
			"The aws provider block must be wholly known before anything is planned (region, profile, endpoint may use variables, not resources).")}
	}
	s := &settings{
		region:   getString(cfg, "region"),
		profile:  getString(cfg, "profile"),
		endpoint: getString(cfg, "endpoint"),
	}
	var diags hcl.Diagnostics
	source := "region"
	if s.region == "" {
		s.region, source = p.defaultRegion(ctx, s.profile)
	}
	if s.region == "" {
		diags = append(diags, providers.ErrorDiag("Missing region", "The aws provider needs a region, and none was found. "+
			"Set one in the provider block (region = \"eu-west-1\"), or in the environment (AWS_REGION or AWS_DEFAULT_REGION), "+
			"or in the profile's section of ~/.aws/config (region = eu-west-1; the profile is the provider block's profile, "+
			"else AWS_PROFILE, else default), as the AWS CLI reads it.")...)
	} else if err := validateRegion(cty.StringVal(s.region)); err != nil {
		err = fmt.Errorf("%v (from %s)", err, source)
		diags = append(diags, providers.ErrorDiag("Invalid region", "%s", err)...)
	}
	if s.endpoint != "" {
		if err := validateEndpoint(cty.StringVal(s.endpoint)); err != nil {
			diags = append(diags, providers.ErrorDiag("Invalid endpoint", "%s", err)...)
		}
	}
	if diags.HasErrors() {
		return providers.ConfigureResponse{Diagnostics: diags}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settings = s
	p.client = nil
	return providers.ConfigureResponse{}
}

// region is the configured region ("" before Configure).
func (p *Provider) region() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.settings == nil {
		return ""
	}
	return p.settings.region
}

// ec2Client returns the EC2 client, creating it on first use.
func (p *Provider) ec2Client(ctx context.Context) (*ec2.Client, hcl.Diagnostics) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	if p.settings == nil {
		return nil, providers.ErrorDiag("Provider not configured", "The aws provider was used before its provider block was configured.")
	}
	cfg, err := p.loadConfig(ctx, p.settings)
	if err != nil {
		return nil, providers.ErrorDiag("Cannot load AWS configuration", "loading AWS configuration: %v", err)
	}
	p.client = ec2.NewFromConfig(cfg)
	return p.client, nil
}

func (p *Provider) loadConfig(ctx context.Context, s *settings) (awssdk.Config, error) {
	maxAttempts, maxBackoff := p.opts.MaxAttempts, p.opts.MaxBackoff
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(s.region),
		config.WithRetryer(func() awssdk.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.Retryables = append([]retry.IsErrorRetryable{neverRetried}, o.Retryables...)
				if maxBackoff > 0 {
					o.MaxBackoff = maxBackoff
					o.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
				}
			})
		}),
	}
	if p.opts.HTTPClient == nil && p.opts.ResponseTimeout > 0 {
		opts = append(opts, config.WithHTTPClient(timeoutClient(p.opts.ResponseTimeout)))
	}
	if s.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.profile))
	} else if id, secret := p.env["AWS_ACCESS_KEY_ID"], p.env["AWS_SECRET_ACCESS_KEY"]; id != "" && secret != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, p.env["AWS_SESSION_TOKEN"])))
	}
	if strings.EqualFold(p.env["AWS_EC2_METADATA_DISABLED"], "true") {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	endpoint := s.endpoint
	if endpoint == "" {
		endpoint = p.env["AWS_ENDPOINT_URL_EC2"]
	}
	if endpoint == "" {
		endpoint = p.env["AWS_ENDPOINT_URL"]
	}
	if endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, err
	}
	// The injected client replaces the SDK's after loading: passed as an
	// option, it would make LoadDefaultConfig fail when AWS_CA_BUNDLE is
	// set (the SDK can only add a CA bundle to its own client type). The
	// injected client brings its own TLS settings.
	if p.opts.HTTPClient != nil {
		cfg.HTTPClient = p.opts.HTTPClient
	}
	return cfg, nil
}

// ReadDataSource implements providers.Provider.
func (p *Provider) ReadDataSource(ctx context.Context, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	for _, d := range p.dataSources {
		if d.name == req.Addr.Type {
			c, diags := p.ec2Client(ctx)
			if diags.HasErrors() {
				return providers.ReadDataSourceResponse{Diagnostics: diags}
			}
			return d.read(ctx, c, req)
		}
	}
	return providers.ReadDataSourceResponse{Diagnostics: providers.ErrorDiag("Unknown data source",
		"The aws provider has no data source %s.", req.Addr.Type)}
}

// Refresh implements providers.Provider: one describe call per resource
// type, the types read at the same time (they are independent; the
// instances' DescribeVolumes follows their DescribeInstances). Diagnostics
// come in the order of the type table.
func (p *Provider) Refresh(ctx context.Context, req providers.RefreshRequest) providers.RefreshResponse {
	states := make([]cty.Value, len(req.Resources))
	byType := map[string][]int{}
	for i, r := range req.Resources {
		states[i] = r.State
		byType[r.Addr.Type] = append(byType[r.Addr.Type], i)
	}
	type result struct {
		idx   []int // of the resources of the type in req.Resources
		got   []cty.Value
		diags hcl.Diagnostics
	}
	results := make([]result, len(p.resources))
	var wg sync.WaitGroup
	for t, typ := range p.resources {
		idx := byType[typ.name]
		if len(idx) == 0 {
			continue
		}
		delete(byType, typ.name)
		results[t].idx = idx
		objs := make([]providers.ResourceObject, len(idx))
		for j, i := range idx {
			objs[j] = req.Resources[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[t].got, results[t].diags = typ.refresh(ctx, objs)
		}()
	}
	wg.Wait()
	var diags hcl.Diagnostics
	for _, r := range results {
		diags = append(diags, r.diags...)
		if r.idx == nil || r.diags.HasErrors() {
			continue // not refreshed, or failed: keep the recorded states
		}
		for j, i := range r.idx {
			states[i] = r.got[j]
		}
	}
	for typ := range byType {
		diags = append(diags, unknownResourceType(typ)...)
	}
	return providers.RefreshResponse{States: states, Diagnostics: diags}
}

// PlanChange implements providers.Provider.
func (p *Provider) PlanChange(ctx context.Context, req providers.PlanChangeRequest) providers.PlanChangeResponse {
	if req.Config.IsNull() {
		return providers.PlanChangeResponse{Planned: req.Config}
	}
	t, ok := p.resourceType(req.Addr.Type)
	if !ok {
		return providers.PlanChangeResponse{Diagnostics: unknownResourceType(req.Addr.Type)}
	}
	return t.plan(req)
}

// ApplyChange implements providers.Provider: delete when nothing is
// planned, create when nothing was there, update otherwise.
func (p *Provider) ApplyChange(ctx context.Context, req providers.ApplyChangeRequest) providers.ApplyChangeResponse {
	t, ok := p.resourceType(req.Addr.Type)
	if !ok {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: unknownResourceType(req.Addr.Type)}
	}
	c, diags := p.ec2Client(ctx)
	if diags.HasErrors() {
		return providers.ApplyChangeResponse{NewState: req.Prior, Diagnostics: diags}
	}
	switch {
	case req.Planned.IsNull():
		return t.delete(ctx, c, req)
	case req.Prior.IsNull():
		return t.create(ctx, c, req)
	}
	return t.update(ctx, c, req)
}

// Import implements providers.Provider.
func (p *Provider) Import(ctx context.Context, req providers.ImportRequest) providers.ImportResponse {
	t, ok := p.resourceType(req.Addr.Type)
	if !ok {
		return providers.ImportResponse{Diagnostics: unknownResourceType(req.Addr.Type)}
	}
	c, diags := p.ec2Client(ctx)
	if diags.HasErrors() {
		return providers.ImportResponse{Diagnostics: diags}
	}
	return t.importID(ctx, c, req)
}

func validateEndpoint(v cty.Value) error {
	s := v.AsString()
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint must be an http or https URL such as http://127.0.0.1:5000, got %q", s)
	}
	return nil
}
