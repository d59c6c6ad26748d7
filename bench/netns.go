package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
	"golang.org/x/sys/unix"
)

// farLink puts a network round trip between the tools and the sandbox
// hosts. The bench creates a network namespace of its own, with nothing in
// it but its loopback interface, and runs each tool inside it (ip netns
// exec). In the namespace a forwarder listens on each host's own address
// (127.0.0.x:port, so the tools' configurations, known_hosts and mlops'
// loopback-only guard stay as they are); for each connection it opens one
// from this machine's namespace to the host's sshd and carries the bytes
// both ways. A single process can hold sockets of both namespaces, so no
// interface joins them: the namespace has no route anywhere, and every
// byte stays on 127.0.0.0/8.
//
// The delay: where the kernel has netem, `tc qdisc netem` on the
// namespace's loopback delays every packet there by half the round trip
// (each packet between a tool and the forwarder crosses it once, so a
// request and its answer pay one round trip). Where it has none, the
// forwarder is the delay line itself (delayLine). close removes the
// namespace; newFarLink removes it itself when it fails half way.
//
// (An earlier version joined the namespace to this machine by a veth pair
// with link-local addresses. Now and then, in CI, the pair answered every
// connection with EOF for seconds; and its addresses were not loopback.
// The pair is gone: the delay never needed it.)
type farLink struct {
	name   string // the namespace
	rttMS  int
	nsFile *os.File // /run/netns/NAME, for the forwarders' threads
	lns    []net.Listener
	// userDelay: the kernel has no netem, and the forwarder is the delay
	// line (delayLine).
	userDelay bool
	mu        sync.Mutex
	conns     map[net.Conn]bool
	once      sync.Once
	logf      func(format string, args ...any) // a failed dial to a host is logged here
}

// haveNetTools says whether ip and tc (iproute2) are installed: the
// latency scenario needs both.
func haveNetTools() error {
	for _, t := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("the latency scenario needs %s (iproute2): %v", t, err)
		}
	}
	return nil
}

func ipCmd(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newFarLink creates the namespace and its delay and forwards each host's
// address through it.
func newFarLink(rttMS int, hosts []*testworld.Host, logf func(format string, args ...any)) (l *farLink, err error) {
	if err := haveNetTools(); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("mlopsbench%d", os.Getpid())
	l = &farLink{name: name, rttMS: rttMS, conns: map[net.Conn]bool{}, logf: logf}
	defer func() {
		if err != nil {
			l.close()
			l = nil
		}
	}()
	// A leftover of a crashed run of this process ID goes first.
	exec.Command("ip", "netns", "del", name).Run()
	for _, c := range [][]string{
		{"ip", "netns", "add", name},
		{"ip", "-n", name, "link", "set", "lo", "up"},
	} {
		if err := ipCmd(c...); err != nil {
			return l, err
		}
	}
	// tc netem where the kernel has it; else (CONFIG_NET_SCH_NETEM off, as
	// on this bench's reference VM) the forwarder delays the bytes itself.
	half := fmt.Sprintf("%.1fms", float64(rttMS)/2)
	err = ipCmd("tc", "-n", name, "qdisc", "add", "dev", "lo", "root", "netem", "delay", half, "limit", "100000")
	if err != nil && strings.Contains(err.Error(), "qdisc kind is unknown") {
		l.userDelay, err = true, nil
	}
	if err != nil {
		return l, err
	}
	if l.nsFile, err = os.Open("/run/netns/" + name); err != nil {
		return l, err
	}
	for _, h := range hosts {
		if err := l.forward(h); err != nil {
			return l, err
		}
	}
	if err := l.checkRTT(hosts[0]); err != nil {
		return l, err
	}
	return l, nil
}

// inNamespace runs f on an OS thread that has joined the namespace: the
// sockets f creates belong to it. The thread then goes back to this
// machine's namespace before the Go scheduler may use it again.
//
// The thread must not die with its goroutine (what LockOSThread without
// UnlockOSThread does): a sandbox host's unshare is started with
// Pdeathsig, which Linux sends when the *thread* that forked it exits, not
// the process. Threads that exited here killed whichever hosts had been
// started from them: a few hosts of 50 went dark when the link was set up,
// and in CI, when a dial ran here for every connection, the one host of
// TestFarLinkDelaysSSH did (EOF on every connection).
func (l *farLink) inNamespace(f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening this thread's network namespace: %v", err)
			return
		}
		defer home.Close()
		if err := unix.Setns(int(l.nsFile.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("joining network namespace %s: %v", l.name, err)
			return
		}
		f()
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays in the namespace: it must not run anything
			// else, so it stays locked and ends with this goroutine.
			errc <- fmt.Errorf("leaving network namespace %s: %v", l.name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	return <-errc
}

// forward listens on h's address inside the namespace and joins each
// connection to a new one, made in this machine's namespace, to h's sshd.
func (l *farLink) forward(h *testworld.Host) error {
	var near net.Listener
	var err error
	if e := l.inNamespace(func() { near, err = net.Listen("tcp", h.HostPort()) }); e != nil {
		return e
	}
	if err != nil {
		return fmt.Errorf("listening on %s in namespace %s: %v", h.HostPort(), l.name, err)
	}
	l.lns = append(l.lns, near)
	var delay time.Duration
	if l.userDelay {
		delay = time.Duration(l.rttMS) * time.Millisecond / 2
	}
	go l.serve(near, delay, func() (net.Conn, error) { return net.DialTimeout("tcp", h.HostPort(), 10*time.Second) })
	return nil
}

// serve accepts connections and joins each to a new one from dial. With a
// delay (the delay line, for kernels without netem), a new connection
// waits a round trip first (the TCP handshake a real link would cost
// before the client's first byte could leave: that byte, already sent
// into the accepted socket, then reaches the host a round trip and a half
// after the client started, as on a real link), and every chunk of bytes,
// either way, is held for the delay (half the round trip) before it is
// passed on, in order.
func (l *farLink) serve(ln net.Listener, delay time.Duration, dial func() (net.Conn, error)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			time.Sleep(2 * delay)
			d, err := dial()
			if err != nil {
				// The tool sees its connection reset; the log says why.
				l.logf("bench: link %s: forwarding %s: %v", l.name, ln.Addr(), err)
				c.Close()
				return
			}
			l.track(c, d)
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				if delay > 0 {
					delayLine(dst, src, delay)
				} else {
					io.Copy(dst, src)
				}
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(d, c)
			go pipe(c, d)
			<-done
			<-done
			c.Close()
			d.Close()
			l.untrack(c, d)
		}()
	}
}

// delayLine copies src to dst, each chunk read passed on delay after it
// was read, in order: a link's latency without its bandwidth limit.
func delayLine(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			for range q { // drain, so the reader can finish
			}
			return
		}
	}
}

func (l *farLink) track(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		l.conns[c] = true
	}
}

func (l *farLink) untrack(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.conns, c)
	}
}

// checkRTT times, from inside the namespace, a connection to h's sshd up
// to its banner (the first bytes sshd sends): a round trip for the TCP
// handshake and half of one for the banner. It fails when that is not near
// the wanted delay: the scenario must measure what it says.
func (l *farLink) checkRTT(h *testworld.Host) error {
	// A failed try (the host's sshd busy) is retried for a few seconds;
	// three good ones are timed.
	var best time.Duration
	var lastErr error
	for good, tries := 0, 0; good < 3; tries++ {
		if tries == 30 {
			return fmt.Errorf("reading sshd's banner over the link: %v", lastErr)
		}
		var d time.Duration
		var err error
		if e := l.inNamespace(func() {
			start := time.Now()
			var c net.Conn
			if c, err = net.DialTimeout("tcp", h.HostPort(), 5*time.Second); err != nil {
				return
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 64))
			d = time.Since(start)
		}); e != nil {
			return e
		}
		if err != nil {
			lastErr = err
			time.Sleep(100 * time.Millisecond)
			continue
		}
		good++
		if best == 0 || d < best {
			best = d
		}
	}
	want := time.Duration(l.rttMS) * time.Millisecond * 3 / 2
	if best < want || best > want+want/2+20*time.Millisecond {
		return fmt.Errorf("sshd's banner took %v over the link, want about %v (1.5 round trips)", best, want)
	}
	return nil
}

// wrap is argv run inside the namespace.
func (l *farLink) wrap(argv []string) []string {
	if l == nil {
		return argv
	}
	return append([]string{"ip", "netns", "exec", l.name}, argv...)
}

// label is how the reports name the link.
func rttLabel(ms int) string {
	if ms == 0 {
		return "loopback"
	}
	return strconv.Itoa(ms) + " ms RTT"
}

// close stops the forwarders and removes the namespace. It is safe to call
// more than once.
func (l *farLink) close() { l.once.Do(l.closeNow) }

func (l *farLink) closeNow() {
	for _, ln := range l.lns {
		ln.Close()
	}
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	if l.nsFile != nil {
		l.nsFile.Close()
	}
	exec.Command("ip", "netns", "del", l.name).Run()
}
