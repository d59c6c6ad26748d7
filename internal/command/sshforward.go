package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

// runForwards holds the host's port forwards open until ctx ends (Ctrl-C):
// each listens on 127.0.0.1 here and reaches its port through the SSH
// connection, as ssh -L does, without an ssh client.
func runForwards(ctx context.Context, d Deps, conn *host.Conn, h plan.HostSSH) int {
	if len(h.SSH.Forwards) == 0 {
		renderError(d, false, "No port forwards", fmt.Errorf("the ssh block of %s has no forward = { NAME = PORT }", h.Addr))
		return sshFailed
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var wg sync.WaitGroup
	for _, f := range h.SSH.Forwards {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.LocalPort)))
		if err != nil {
			renderError(d, false, "Cannot listen for forward "+f.Name, err)
			return sshFailed
		}
		listeners = append(listeners, ln)
		remote := net.JoinHostPort(f.RemoteHost, strconv.Itoa(f.RemotePort))
		views.NewSSHNotices(d.Streams).Forward(f.Name, ln.Addr(), remote, h.Addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r, err := conn.DialRemote(remote)
					if err != nil {
						views.NewSSHNotices(d.Streams).ForwardFailed(f.Name, err)
						return
					}
					defer r.Close()
					pipe(c, r)
				}()
			}
		}()
	}
	views.NewSSHNotices(d.Streams).Forwarding()
	<-ctx.Done()
	for _, l := range listeners {
		l.Close()
	}
	wg.Wait()
	return 0
}

// pipe copies both ways until either side ends, then closes the writing
// half of the other so it sees the end too.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}

// runStdio carries an OpenSSH client's connection (ProxyCommand): it starts
// the instance first when it is stopped and wake = true, waits for SSH, then
// copies stdin to the host's SSH port and the port's answers to stdout.
// Nothing else may be written to stdout: it is the client's SSH stream.
func runStdio(ctx context.Context, d Deps, l *loaded, store state.Store, h plan.HostSSH) int {
	if h.Stopped {
		if !h.SSH.Wake {
			renderError(d, false, "Host is stopped", fmt.Errorf("%s is stopped; start it with mlops apply, or set wake = true in its ssh block", h.Addr))
			return sshFailed
		}
		views.NewSSHNotices(d.Streams).Waking(h.Addr)
		started, err := wake(ctx, d, l, store, h)
		if err != nil {
			renderError(d, false, "Cannot start "+h.Addr.String(), err)
			return sshFailed
		}
		h = started
	}
	if !h.SSH.Known || h.SSH.Host == "" {
		renderError(d, false, "No address", fmt.Errorf("the ssh block of %s has no known host; are the variables given to apply set here too (MLOPS_VAR_name)?", h.Addr))
		return sshFailed
	}
	target := providers.SSHTarget{Host: h.SSH.Host, Port: h.SSH.Port, User: h.SSH.User, PrivateKeyFile: h.SSH.PrivateKey,
		HostKey: h.SSH.HostKey, Timeout: h.SSH.Timeout, Alias: h.SSH.Alias}
	// A login with mlops's own key is the proof that sshd is up (a new
	// machine accepts TCP before its key is installed).
	conn, err := l.world.hosts.Dial(ctx, target, h.HostKey)
	if err != nil {
		renderError(d, false, "Cannot connect to host over SSH", err)
		return sshFailed
	}
	conn.Close()
	tcp, err := l.world.hosts.DialTCP(ctx, target)
	if err != nil {
		renderError(d, false, "Cannot connect to host", err)
		return sshFailed
	}
	defer tcp.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(tcp, d.Streams.In)
		if cw, ok := tcp.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	go func() {
		io.Copy(d.Streams.Out, tcp)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return 0
}

// wake starts the host's instance under the state lock, writes the new
// state, and returns the host as the new state describes it.
func wake(ctx context.Context, d Deps, l *loaded, store state.Store, h plan.HostSSH) (plan.HostSSH, error) {
	st, unlock, err := lockedRead(ctx, store, "ssh -stdio (wake)")
	if err != nil {
		return h, err
	}
	defer unlock()
	if diags := l.engine.ConfigureProviders(ctx, st); diags.HasErrors() {
		return h, diagsError(diags)
	}
	progress := func(msg string) { views.NewSSHNotices(d.Streams).WakeProgress(h.Addr, msg) }
	next, started, diags := l.engine.Start(ctx, st, h.Addr, progress)
	if next != nil && started {
		if err := store.Write(ctx, next); err != nil {
			return h, fmt.Errorf("the instance started, but saving the state failed: %w", err)
		}
	}
	if diags.HasErrors() {
		return h, diagsError(diags)
	}
	hosts, _ := l.engine.SSHHosts(next)
	return findSSHHost(hosts, h.Addr.String())
}

func diagsError(diags interface{ Error() string }) error { return errors.New(diags.Error()) }
