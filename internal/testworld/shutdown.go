package testworld

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// ShutdownProxy stands between mlops and moto and makes EC2's answers say
// that an instance stopped itself. On AWS, a shutdown from inside an
// instance whose shutdown behaviour is stop leaves it stopped with the state
// reason Client.InstanceInitiatedShutdown; moto 5.2.3 has no shutdown from
// inside (its instances run nothing), and it gives every stop the reason of
// a StopInstances call, Client.UserInitiatedShutdown. A test plays EC2's
// part: when the sandbox host standing in for the instance shuts down, it
// stops the instance with StopInstances and marks it here, and the proxy
// rewrites that instance's state reason in DescribeInstances answers to the
// one AWS gives. Everything else passes unchanged.
type ShutdownProxy struct {
	target string
	ln     net.Listener
	srv    *http.Server

	mu     sync.Mutex
	marked map[string]bool
	calls  map[string]int
}

// StartShutdownProxy starts a proxy to target (moto's endpoint) on loopback
// and stops it when the test ends.
func StartShutdownProxy(t testing.TB, target string) *ShutdownProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ShutdownProxy{target: target, ln: ln, marked: map[string]bool{}, calls: map[string]int{}}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// URL is the proxy's endpoint, for AWS_ENDPOINT_URL.
func (p *ShutdownProxy) URL() string { return "http://" + p.ln.Addr().String() }

// MarkInstanceInitiated makes the instance's state reason say it shut
// itself down.
func (p *ShutdownProxy) MarkInstanceInitiated(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marked[id] = true
}

// Calls returns how many requests of an action went through the proxy.
func (p *ShutdownProxy) Calls(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[action]
}

func (p *ShutdownProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	action := proxyAction(r, body)
	p.mu.Lock()
	p.calls[action]++
	p.mu.Unlock()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := motoLoopbackOnly{next: http.DefaultTransport}.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if action == "DescribeInstances" {
		out = p.rewrite(out)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// rewrite replaces the state reason of the marked instances in a
// DescribeInstances answer. An instance's section is the <item> that holds
// its <instanceId> directly (moto writes stateReason before instanceId).
func (p *ShutdownProxy) rewrite(doc []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	type span struct{ start, end int }
	var spans []span
	var open []int // start offsets of the <item> elements open here
	target := -1   // depth of the marked instance's item, -1 when none
	for _, m := range itemOrID.FindAllSubmatchIndex(doc, -1) {
		switch tok := doc[m[0]:m[1]]; {
		case bytes.Equal(tok, []byte("<item>")):
			open = append(open, m[0])
		case bytes.Equal(tok, []byte("</item>")):
			if len(open) == 0 {
				return doc
			}
			if target == len(open) {
				spans = append(spans, span{open[len(open)-1], m[1]})
				target = -1
			}
			open = open[:len(open)-1]
		default:
			if p.marked[string(doc[m[2]:m[3]])] && len(open) > 0 {
				target = len(open)
			}
		}
	}
	// Replace from the end, so earlier offsets stay right.
	for i := len(spans) - 1; i >= 0; i-- {
		sec := append([]byte{}, doc[spans[i].start:spans[i].end]...)
		sec = bytes.ReplaceAll(sec, []byte("Client.UserInitiatedShutdown: User initiated shutdown"),
			[]byte("Client.InstanceInitiatedShutdown: Instance initiated shutdown"))
		sec = bytes.ReplaceAll(sec, []byte("Client.UserInitiatedShutdown"), []byte("Client.InstanceInitiatedShutdown"))
		doc = append(append(append([]byte{}, doc[:spans[i].start]...), sec...), doc[spans[i].end:]...)
	}
	return doc
}

var itemOrID = regexp.MustCompile(`<item>|</item>|<instanceId>([^<]*)</instanceId>`)
