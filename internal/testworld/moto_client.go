package testworld

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// CountingClient is an HTTP client (aws.HTTPClient) and RoundTripper that
// counts the API calls passing through it, by action, and refuses any
// request to a host outside 127.0.0.0/8 (or ::1, localhost), so that a
// misconfigured SDK fails instead of reaching AWS or the instance metadata
// service.
//
// Every HTTP attempt counts, retries included. The action of an EC2 (query
// protocol) request is its Action form field, "DescribeInstances"; of a JSON
// protocol request its X-Amz-Target header; of anything else (S3) the
// method, "S3 PUT".
type CountingClient struct {
	transport http.RoundTripper
	client    *http.Client

	mu     sync.Mutex
	counts map[string]int
}

// NewCountingClient returns a client with all counts at zero.
func NewCountingClient() *CountingClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only: never through a proxy
	c := &CountingClient{transport: motoLoopbackOnly{tr}, counts: map[string]int{}}
	c.client = &http.Client{Transport: c.transport}
	return c
}

// Do implements aws.HTTPClient.
func (c *CountingClient) Do(req *http.Request) (*http.Response, error) {
	if err := c.count(req); err != nil {
		return nil, err
	}
	return c.client.Do(req)
}

// RoundTrip implements http.RoundTripper.
func (c *CountingClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := c.count(req); err != nil {
		return nil, err
	}
	return c.transport.RoundTrip(req)
}

// Count returns how many requests of the action were sent.
func (c *CountingClient) Count(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[action]
}

// Counts returns a copy of all counts by action.
func (c *CountingClient) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// Total returns the number of requests sent.
func (c *CountingClient) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Reset sets all counts to zero.
func (c *CountingClient) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int{}
}

// String lists the counts, "DescribeInstances=1 RunInstances=2", sorted.
func (c *CountingClient) String() string {
	counts := c.Counts()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, " ")
}

func (c *CountingClient) count(req *http.Request) error {
	if err := motoCheckLoopback(req.URL); err != nil {
		return err
	}
	action, err := motoRequestAction(req)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.counts[action]++
	c.mu.Unlock()
	return nil
}

// motoRequestAction names the API action of a request. It reads a form body and
// puts it back so the request can still be sent.
func motoRequestAction(req *http.Request) (string, error) {
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		return t, nil
	}
	if a := req.URL.Query().Get("Action"); a != "" {
		return a, nil
	}
	if req.Body != nil && req.Body != http.NoBody &&
		strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return "", fmt.Errorf("testworld: reading request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return form.Get("Action"), nil
		}
	}
	return "S3 " + req.Method, nil
}

// motoLoopbackOnly refuses requests to hosts outside loopback.
type motoLoopbackOnly struct{ next http.RoundTripper }

func (l motoLoopbackOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := motoCheckLoopback(req.URL); err != nil {
		return nil, err
	}
	return l.next.RoundTrip(req)
}

func motoCheckLoopback(u *url.URL) error {
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("testworld: refusing request to %s: tests may only reach 127.0.0.0/8", u.Redacted())
}
