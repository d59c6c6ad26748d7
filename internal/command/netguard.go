package command

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// loopbackOnlyClient is the HTTP client used for AWS APIs when
// MLOPS_TEST_LOOPBACK_ONLY=1: the test harness turns it on so that a
// forgotten endpoint override fails loudly instead of reaching a real AWS
// address (or the instance metadata service).
func loopbackOnlyClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if ip := net.ParseIP(host); ip != nil {
			ips, err = []net.IP{ip}, nil
		} else if host != "localhost" {
			return nil, fmt.Errorf("refusing to resolve %q: only 127.0.0.0/8 is allowed in loopback-only mode", host)
		}
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if !ip.IsLoopback() || ip.To4() == nil {
				return nil, fmt.Errorf("refusing to connect to %s: only 127.0.0.0/8 is allowed in loopback-only mode", addr)
			}
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort(ips[0].String(), mustPort(addr)))
	}
	return &http.Client{Transport: tr}
}

func mustPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
