package testworld

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// ec2Post sends an EC2 query-protocol request with the action through c.
func ec2Post(c *http.Client, endpoint, action string) (*http.Response, string, error) {
	form := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	resp, err := c.Post(endpoint+"/", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestFaultProxyKinds(t *testing.T) {
	var served atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "<ok/>")
	}))
	defer target.Close()
	p := StartFaultProxy(t, target.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: nil}}

	cases := []struct {
		kind      FaultKind
		status    int
		body      string
		reachesIt bool
		reset     bool
	}{
		{FaultThrottle, 400, "<Code>RequestLimitExceeded</Code>", false, false},
		{FaultServerError, 500, "<Code>InternalError</Code>", false, false},
		{FaultReset, 0, "", false, true},
		{FaultLostResponse, 0, "", true, true},
		{FaultDelay, 200, "<ok/>", true, false},
	}
	for _, tc := range cases {
		p.Reset()
		p.SetFaults(Faults{Rate: 1, Kinds: []FaultKind{tc.kind}})
		before := served.Load()
		resp, body, err := ec2Post(c, p.URL(), "RunInstances")
		if tc.reset {
			if err == nil || !(errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "EOF")) {
				t.Errorf("%s: want a reset, got %v", tc.kind, err)
			}
		} else if err != nil || resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: got %v %v %q", tc.kind, resp, err, body)
		}
		if got := served.Load() > before; got != tc.reachesIt {
			t.Errorf("%s: reached the target = %v, want %v", tc.kind, got, tc.reachesIt)
		}
		if log := p.Log(); len(log) != 1 || log[0].Fault != tc.kind || log[0].Action != "RunInstances" || log[0].Index != 1 {
			t.Errorf("%s: log = %+v", tc.kind, log)
		}
	}
}

// TestFaultProxySeeded: a request's fate depends on the seed, its action
// and its count only, and the rate is kept.
func TestFaultProxySeeded(t *testing.T) {
	fates := func(seed uint64, order []string) map[string]FaultKind {
		p := &FaultProxy{seen: map[string]int{}}
		p.SetFaults(Faults{Rate: 0.3, Seed: seed})
		out := map[string]FaultKind{}
		for _, a := range order {
			p.seen[a]++
			x := Exchange{Action: a, Nth: p.seen[a]}
			out[fmt.Sprintf("%s#%d", a, x.Nth)] = p.drawLocked(x)
		}
		return out
	}
	var ab, ba []string
	for range 5 {
		ab = append(ab, "A", "B")
		ba = append(ba, "B", "A")
	}
	x, y := fates(42, ab), fates(42, ba)
	for k := range x {
		if x[k] != y[k] {
			t.Errorf("%s: %q in one order, %q in the other", k, x[k], y[k])
		}
	}
	p := &FaultProxy{}
	p.SetFaults(Faults{Rate: 0.3, Seed: 1})
	n := 0
	for i := 1; i <= 2000; i++ {
		if p.drawLocked(Exchange{Action: "DescribeInstances", Nth: i}) != "" {
			n++
		}
	}
	if n < 500 || n > 700 {
		t.Errorf("%d of 2000 faulted at rate 0.3", n)
	}
}
