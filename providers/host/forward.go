package host

import (
	"context"
	"fmt"
	"net"

	"github.com/mlops-dev/mlops/providers"
)

// DialRemote opens a TCP connection from the host to addr ("localhost:8888")
// through the SSH connection (a direct-tcpip channel, as ssh -L uses): the
// port needs no security group rule, only SSH.
func (c *Conn) DialRemote(addr string) (net.Conn, error) {
	c.mu.Lock()
	client := c.client
	c.mu.Unlock()
	if client == nil {
		return nil, fmt.Errorf("ssh %s: connection closed", c.addr)
	}
	conn, err := client.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: forwarding to %s on the host: %w", c.addr, addr, err)
	}
	return conn, nil
}

// DialTCP opens a plain TCP connection to the target's SSH port, with the
// transport's dialer and, in loopback-only mode, its address check. mlops
// ssh -stdio carries an OpenSSH client's bytes over it.
func (h *Hosts) DialTCP(ctx context.Context, target providers.SSHTarget) (net.Conn, error) {
	port := target.Port
	if port == 0 {
		port = 22
	}
	addr, err := h.resolve(ctx, target.Host, port)
	if err != nil {
		return nil, err
	}
	return h.opts.Dial(ctx, "tcp", addr)
}
