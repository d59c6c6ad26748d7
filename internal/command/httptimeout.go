package command

import (
	"net/http"
	"time"
)

// defaultResponseTimeout bounds the wait for the answer to one AWS API
// request (its response headers): an endpoint that accepts the connection
// and never answers would otherwise hold mlops forever. The SDK retries a
// timed-out request like a lost one (AWS_MAX_ATTEMPTS).
const defaultResponseTimeout = 60 * time.Second

// responseTimeout is MLOPS_HTTP_TIMEOUT (a duration like "30s"), else the
// default.
func responseTimeout(d Deps) time.Duration {
	if v, err := time.ParseDuration(d.getenv("MLOPS_HTTP_TIMEOUT")); err == nil && v > 0 {
		return v
	}
	return defaultResponseTimeout
}

// withTimeouts returns the HTTP client for the AWS SDKs with connection,
// TLS handshake and response timeouts: c's transport when it is an
// *http.Transport (the loopback guard), else Go's default transport.
func withTimeouts(c *http.Client, timeout time.Duration) *http.Client {
	var tr *http.Transport
	if c != nil {
		t, ok := c.Transport.(*http.Transport)
		if !ok {
			return c // injected by a test with its own transport
		}
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.ResponseHeaderTimeout = timeout
	if tr.TLSHandshakeTimeout == 0 || tr.TLSHandshakeTimeout > timeout {
		tr.TLSHandshakeTimeout = min(10*time.Second, timeout)
	}
	out := &http.Client{Transport: tr}
	if c != nil {
		out.CheckRedirect, out.Jar = c.CheckRedirect, c.Jar
	}
	return out
}
