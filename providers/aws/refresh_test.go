package aws

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// barrierClient holds back each request of the given actions until all of
// them are in flight at once, or until a timeout: it tells reads sent
// together from reads sent one after another.
type barrierClient struct {
	next    awssdk.HTTPClient
	actions map[string]bool
	timeout time.Duration

	mu       sync.Mutex
	waiting  int // requests held back now
	all      chan struct{}
	met      bool
	timedOut int
}

func (b *barrierClient) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	form, _ := url.ParseQuery(string(body))
	if b.actions[form.Get("Action")] {
		b.mu.Lock()
		b.waiting++
		if b.waiting == len(b.actions) && !b.met {
			b.met = true
			close(b.all)
		}
		b.mu.Unlock()
		select {
		case <-b.all:
		case <-time.After(b.timeout):
			b.mu.Lock()
			b.waiting--
			b.timedOut++
			b.mu.Unlock()
		}
	}
	return b.next.Do(req)
}

// TestRefreshReadsTypesAtOnce: the describe calls of different resource
// types are in flight at the same time, still one call per type, and the
// states come back in request order.
func TestRefreshReadsTypesAtOnce(t *testing.T) {
	var bc *barrierClient
	w := newWorld(t, func(next awssdk.HTTPClient) awssdk.HTTPClient {
		bc = &barrierClient{next: next, timeout: 10 * time.Second, all: make(chan struct{})}
		return bc
	})
	inst := resourceAddr("aws_instance", "i")
	i := w.apply(inst, cty.NullVal(instanceSchema().ImpliedType()),
		instanceConfig(map[string]cty.Value{"ami": cty.StringVal(jammyNewest), "instance_type": cty.StringVal("t3.micro")}))
	sgAddr := resourceAddr("aws_security_group", "g")
	sg := w.apply(sgAddr, cty.NullVal(securityGroupSchema().ImpliedType()), groupConfig(map[string]cty.Value{"name": cty.StringVal("g")}))
	kpAddr := resourceAddr("aws_key_pair", "k")
	kp := w.apply(kpAddr, cty.NullVal(keyPairSchema().ImpliedType()), keyPairConfig(map[string]cty.Value{"name": cty.StringVal("k"), "private_key_file": cty.StringVal("~/k")}))

	bc.actions = map[string]bool{"DescribeKeyPairs": true, "DescribeSecurityGroups": true, "DescribeInstances": true}
	w.counts.Reset()
	states := w.refresh(
		providers.ResourceObject{Addr: inst, State: i.resp.NewState},
		providers.ResourceObject{Addr: kpAddr, State: kp.resp.NewState},
		providers.ResourceObject{Addr: sgAddr, State: sg.resp.NewState},
	)
	if !bc.met {
		t.Errorf("the describe calls of the three types were never in flight together (%d waited in vain)", bc.timedOut)
	}
	if want := "DescribeInstances=1 DescribeKeyPairs=1 DescribeSecurityGroups=1 DescribeVolumes=1"; w.counts.String() != want {
		t.Errorf("calls = %s, want %s", w.counts, want)
	}
	for j, want := range []cty.Value{i.resp.NewState, kp.resp.NewState, sg.resp.NewState} {
		if got, want := getString(states[j], "id"), getString(want, "id"); got != want {
			t.Errorf("state %d has id %s, want %s", j, got, want)
		}
	}
}
