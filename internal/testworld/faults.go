package testworld

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is an HTTP proxy for the AWS APIs, meant to sit between mlops
// (AWS_ENDPOINT_URL) and moto. It forwards every request and can, instead:
//
//   - inject faults at a configured rate, seeded (SetFaults): 5xx
//     errors, throttling errors in the service's own error format,
//     connection resets before forwarding, lost responses (the request
//     reaches moto, its answer is replaced by a reset) and delays;
//   - call hooks at exact moments (BeforeForward, AfterResponse), which can
//     pause the request, kill the client or drop the exchange, so that a
//     test can crash mlops right before or right after a given API call.
//
// Requests are numbered from 1 in order of arrival, over all actions; the
// action is named as CountingClient names it ("RunInstances", "S3 PUT").
// It listens on 127.0.0.1 and forwards only to loopback.
type FaultProxy struct {
	target    *url.URL
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport

	mu     sync.Mutex
	index  int
	seen   map[string]int
	log    []Exchange
	faults Faults
	armed  bool // SetFaults was called
	before func(Exchange) Verdict
	after  func(Exchange) Verdict
}

// Exchange is one request through the proxy, as the hooks and Log see it.
type Exchange struct {
	// Index numbers the requests through the proxy from 1.
	Index int
	// Action is the API action: "RunInstances", "S3 PUT", ...
	Action string
	// Nth counts the requests of this action so far, this one included.
	Nth int
	// Method and Path are the HTTP request's; Body is its content.
	Method, Path string
	Body         []byte
	// Fault is the fault injected into this request ("" for none).
	Fault FaultKind
	// Status is moto's HTTP status (AfterResponse and Log; 0 when the
	// request was not forwarded).
	Status int
	// Response is moto's answer (AfterResponse only).
	Response []byte
}

// Verdict is a hook's decision about an exchange.
type Verdict int

const (
	// Pass lets the exchange go on: forward the request, deliver the answer.
	Pass Verdict = iota
	// Drop resets the client's connection without an answer. Before
	// forwarding, moto never sees the request; after the response, moto
	// has carried it out but the client never learns the outcome.
	Drop
)

// FaultKind is a kind of injected fault.
type FaultKind string

const (
	// FaultServerError answers HTTP 500 InternalError or 503 Unavailable
	// (ServiceUnavailable for S3) without forwarding.
	FaultServerError FaultKind = "5xx"
	// FaultThrottle answers the service's throttling error without
	// forwarding: for EC2 HTTP 400 RequestLimitExceeded or Throttling in
	// EC2's XML error format, for S3 HTTP 503 SlowDown.
	FaultThrottle FaultKind = "throttle"
	// FaultReset resets the connection without forwarding.
	FaultReset FaultKind = "reset"
	// FaultLostResponse forwards the request, so moto carries it out, then
	// resets the connection instead of answering: the non-idempotent case.
	FaultLostResponse FaultKind = "lost-response"
	// FaultDelay waits Faults.Delay, then forwards normally.
	FaultDelay FaultKind = "delay"
)

// AllFaultKinds are the kinds a zero Faults.Kinds draws from.
var AllFaultKinds = []FaultKind{FaultServerError, FaultThrottle, FaultReset, FaultLostResponse, FaultDelay}

// Faults configures random fault injection.
type Faults struct {
	// Rate is the fraction of requests faulted, from 0 (none) to 1 (all).
	Rate float64
	// Seed picks the faulted requests and their kinds: a request's fate
	// is a function of the seed, its action and its count (Exchange.Nth).
	Seed uint64
	// Kinds are drawn uniformly; empty means AllFaultKinds.
	Kinds []FaultKind
	// Delay is the wait of FaultDelay (default 200ms).
	Delay time.Duration
	// Only, when set, limits faults to the requests it accepts.
	Only func(Exchange) bool
}

// StartFaultProxy starts a proxy to target (moto's endpoint) for one test
// and closes it when the test ends.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p, err := NewFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// NewFaultProxy starts a proxy to target on a free port of 127.0.0.1.
func NewFaultProxy(target string) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("testworld: fault proxy target: %v", err)
	}
	if err := motoCheckLoopback(u); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testworld: fault proxy: %v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	p := &FaultProxy{target: u, ln: ln, transport: tr, seen: map[string]int{}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's endpoint, http://127.0.0.1:PORT: give it to mlops as
// AWS_ENDPOINT_URL.
func (p *FaultProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy; requests in flight are cut off.
func (p *FaultProxy) Close() error {
	err := p.srv.Close()
	p.transport.CloseIdleConnections()
	return err
}

// SetFaults replaces the fault configuration.
func (p *FaultProxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.Delay <= 0 {
		f.Delay = 200 * time.Millisecond
	}
	if len(f.Kinds) == 0 {
		f.Kinds = AllFaultKinds
	}
	p.faults, p.armed = f, true
}

// BeforeForward sets the hook called for each request before anything
// else happens to it (nil removes it). The request waits for the hook, so a
// hook can pause it, or kill the client and wait for it to exit. Pass goes
// on (random faults may still apply); Drop resets the connection unseen by
// moto.
func (p *FaultProxy) BeforeForward(fn func(Exchange) Verdict) {
	p.mu.Lock()
	p.before = fn
	p.mu.Unlock()
}

// AfterResponse sets the hook called with moto's answer before it is
// delivered (nil removes it). Drop resets the connection instead of
// answering.
func (p *FaultProxy) AfterResponse(fn func(Exchange) Verdict) {
	p.mu.Lock()
	p.after = fn
	p.mu.Unlock()
}

// Reset numbers requests from 1 again, forgets the log, the hooks and the
// faults.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index, p.seen, p.log = 0, map[string]int{}, nil
	p.before, p.after = nil, nil
	p.faults, p.armed = Faults{}, false
}

// Log returns the exchanges so far, in order of arrival, without bodies.
func (p *FaultProxy) Log() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exchange(nil), p.log...)
}

// Faulted counts the exchanges that had a fault injected, by kind.
func (p *FaultProxy) Faulted() map[FaultKind]int {
	out := map[FaultKind]int{}
	for _, x := range p.Log() {
		if x.Fault != "" {
			out[x.Fault]++
		}
	}
	return out
}

// ServeHTTP implements http.Handler.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x := Exchange{Method: r.Method, Path: r.URL.Path, Body: body, Action: proxyAction(r, body)}

	p.mu.Lock()
	p.index++
	p.seen[x.Action]++
	x.Index, x.Nth = p.index, p.seen[x.Action]
	slot := len(p.log)
	p.log = append(p.log, Exchange{Index: x.Index, Action: x.Action, Nth: x.Nth, Method: x.Method, Path: x.Path})
	before, after := p.before, p.after
	p.mu.Unlock()

	if before != nil && before(x) == Drop {
		resetConn(w)
		return
	}
	p.mu.Lock()
	x.Fault = p.drawLocked(x)
	p.log[slot].Fault = x.Fault
	delay := p.faults.Delay
	p.mu.Unlock()

	switch x.Fault {
	case FaultServerError, FaultThrottle:
		writeFault(w, r, x)
		return
	case FaultReset:
		resetConn(w)
		return
	case FaultDelay:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	resp, respBody, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "testworld: fault proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	x.Status, x.Response = resp.StatusCode, respBody
	p.mu.Lock()
	p.log[slot].Status = resp.StatusCode
	p.mu.Unlock()
	if x.Fault == FaultLostResponse || (after != nil && after(x) == Drop) {
		resetConn(w)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// drawLocked decides the fault of an exchange; p.mu must be held. The
// draw depends only on the seed, the action and its count (Nth), not on
// how concurrent requests of other actions interleave, so a seed faults the
// same requests run after run.
func (p *FaultProxy) drawLocked(x Exchange) FaultKind {
	f := p.faults
	if !p.armed || f.Rate <= 0 || (f.Only != nil && !f.Only(x)) {
		return ""
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", x.Action, x.Nth)
	rng := rand.New(rand.NewPCG(f.Seed, h.Sum64()))
	if f.Rate < 1 && rng.Float64() >= f.Rate {
		return ""
	}
	return f.Kinds[rng.IntN(len(f.Kinds))]
}

// forward sends the request to the target and reads the whole answer.
func (p *FaultProxy) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	u := *p.target
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // the SDK signed it
	out.ContentLength = int64(len(body))
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	resp.Header.Del("Content-Length")
	return resp, respBody, nil
}

// resetConn closes the client's connection with a TCP reset (linger 0), so
// the client sees "connection reset by peer" rather than a clean EOF.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeFault answers a fault in the format of the service the request was
// for: EC2's query-protocol XML (Response/Errors/Error) for requests that
// carry an Action, S3's (Error) otherwise.
func writeFault(w http.ResponseWriter, r *http.Request, x Exchange) {
	ec2 := !strings.HasPrefix(x.Action, "S3 ")
	var status int
	var code, msg string
	switch {
	case x.Fault == FaultThrottle && ec2:
		status, code, msg = http.StatusBadRequest, "RequestLimitExceeded", "Request limit exceeded."
		if x.Index%2 == 0 {
			code, msg = "Throttling", "Rate exceeded"
		}
	case x.Fault == FaultThrottle:
		status, code, msg = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
	case x.Index%2 == 0:
		status, code, msg = http.StatusServiceUnavailable, "Unavailable", "The server is overloaded and can't handle the request."
		if !ec2 {
			code = "ServiceUnavailable"
		}
	default:
		status, code, msg = http.StatusInternalServerError, "InternalError", "An internal error has occurred."
	}
	reqID := fmt.Sprintf("testworld-fault-%d", x.Index)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	if !ec2 {
		w.Header().Set("x-amz-request-id", reqID)
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, code, msg, reqID)
		return
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, msg, reqID)
}

// proxyAction names the action of an incoming request like
// motoRequestAction names an outgoing one.
func proxyAction(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return form.Get("Action")
		}
	}
	return "S3 " + r.Method
}
