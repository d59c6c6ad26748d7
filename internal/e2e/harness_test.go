// Package e2e drives the built mlops binary against the test world: a moto
// server for EC2 and S3, sandbox OpenSSH hosts and a local download server,
// all on 127.0.0.0/8.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/internal/testworld"
)

// binary is the mlops binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mlops-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mlops")
	root, err := testworld.RepoRoot()
	if err == nil {
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/mlops")
		cmd.Dir = root
		cmd.Stderr = os.Stderr
		err = cmd.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building mlops:", err)
		os.Exit(1)
	}
	code := testworld.MotoMain(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is one configuration directory with its own HOME, run against the
// shared moto server (reset for each test).
type stack struct {
	t    *testing.T
	moto *testworld.Moto
	// strict is the strict EC2 layer in front of moto that mlops talks to
	// (AWS_ENDPOINT_URL): EC2's consistency delays, conflicts and limits.
	strict *testworld.StrictEC2
	dir    string
	home   string
	env    []string
}

func newStack(t *testing.T, files map[string]string) *stack {
	t.Helper()
	m := testworld.SharedMoto(t)
	m.Reset(t)
	s := &stack{t: t, moto: m, dir: t.TempDir(), home: t.TempDir()}
	s.strict = testworld.StartStrictEC2(t, m.Endpoint(), testworld.StrictOptions{})
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A clean environment: nothing of the developer's AWS settings leaks in.
	s.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"NO_COLOR=1",
		"MLOPS_TEST_LOOPBACK_ONLY=1",
	}, m.Env()...)
	s.env = append(s.env, "AWS_ENDPOINT_URL="+s.strict.URL()) // the last one counts
	return s
}

// endpoint is the AWS endpoint mlops uses: the strict layer in front of
// moto. Fault proxies go in front of it.
func (s *stack) endpoint() string { return s.strict.URL() }

// startVolumes puts the test world's volume layer (EBS volumes as loop
// devices in the sandbox hosts) right in front of moto, where it sees
// moto's own answers, and a new strict EC2 layer in front of it, which
// mlops talks to.
func (s *stack) startVolumes() *testworld.Volumes {
	s.t.Helper()
	vols := testworld.StartVolumes(s.t, s.moto.Endpoint())
	s.strict = testworld.StartStrictEC2(s.t, vols.URL(), testworld.StrictOptions{})
	s.env = append(s.env, "AWS_ENDPOINT_URL="+s.strict.URL())
	return vols
}

type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs mlops in the stack's directory.
func (s *stack) run(args ...string) result {
	s.t.Helper()
	return s.runEnv(nil, args...)
}

func (s *stack) runEnv(extra []string, args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("running mlops %v: %v", args, err)
	}
	return r
}

// must runs mlops and fails the test unless it exits with want.
func (s *stack) must(want int, args ...string) result {
	s.t.Helper()
	r := s.run(args...)
	if r.code != want {
		s.t.Fatalf("mlops %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// ec2 is an SDK client on the moto server, for checking reality behind
// mlops' back.
func (s *stack) ec2() *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       testworld.MotoRegion,
		BaseEndpoint: awssdk.String(s.moto.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   testworld.NewCountingClient(),
	})
}

// liveInstances returns the instances that are not terminated.
func (s *stack) liveInstances() []ec2types.Instance {
	s.t.Helper()
	out, err := s.ec2().DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	var live []ec2types.Instance
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if i.State != nil && i.State.Name != ec2types.InstanceStateNameTerminated && i.State.Name != ec2types.InstanceStateNameShuttingDown {
				live = append(live, i)
			}
		}
	}
	return live
}

func tag(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == key {
			return awssdk.ToString(t.Value)
		}
	}
	return ""
}

func (s *stack) statePath() string { return filepath.Join(s.dir, ".mlops", "state.json") }

func contains(t *testing.T, r result, subs ...string) {
	t.Helper()
	all := r.stdout + r.stderr
	for _, sub := range subs {
		if !strings.Contains(all, sub) {
			t.Errorf("output lacks %q:\n%s", sub, r)
		}
	}
}

// securityGroupsNamed counts the security groups with that name in moto.
func (s *stack) securityGroupsNamed(name string) int {
	s.t.Helper()
	out, err := s.ec2().DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, g := range out.SecurityGroups {
		if awssdk.ToString(g.GroupName) == name {
			n++
		}
	}
	return n
}

// slowProxy forwards HTTP requests to target after a delay.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
