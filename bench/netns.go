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
// hosts. The bench creates a network namespace of its own, joined to this
// machine's by a veth pair whose two ends delay every packet with tc netem
// (half the round trip each way), and runs each tool inside it (ip netns
// exec). Inside the namespace, a forwarder listens on each host's own
// address (127.0.0.x:port, so the tools' configurations, known_hosts and
// mlops' loopback-only guard stay as they are) and carries each connection
// over the veth pair to a forwarder on this machine's end, which connects
// to the host's sshd. Every byte between a tool and a host therefore
// crosses the delayed link, in both directions.
//
// The veth pair is addressed from 169.254.213.0/30 (link-local) and the
// namespace has no other interface than its loopback and its end of the
// pair, and no default route: nothing in it can reach past this machine.
// close removes the namespace and the pair (deleting one end of a veth
// pair deletes both); newFarLink removes them itself when it fails half
// way.
type farLink struct {
	name    string // the namespace, also the prefix of the veth names
	rttMS   int
	nsFile  *os.File // /run/netns/NAME, for the forwarders' threads
	hostEnd string   // 169.254.213.1, this machine's end
	nsEnd   string   // 169.254.213.2, the namespace's end
	lns     []net.Listener
	mu      sync.Mutex
	conns   map[net.Conn]bool
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

// newFarLink creates the namespace and the delayed link and forwards each
// host's address through it.
func newFarLink(rttMS int, hosts []*testworld.Host) (l *farLink, err error) {
	if err := haveNetTools(); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("mlopsbench%d", os.Getpid()%100000)
	l = &farLink{name: name, rttMS: rttMS, hostEnd: "169.254.213.1", nsEnd: "169.254.213.2", conns: map[net.Conn]bool{}}
	defer func() {
		if err != nil {
			l.close()
			l = nil
		}
	}()
	// A leftover of a crashed run of this process ID goes first.
	exec.Command("ip", "netns", "del", name).Run()
	exec.Command("ip", "link", "del", name+"h").Run()
	half := fmt.Sprintf("%.1fms", float64(rttMS)/2)
	for _, c := range [][]string{
		{"ip", "netns", "add", name},
		{"ip", "link", "add", name + "h", "type", "veth", "peer", "name", name + "n"},
		{"ip", "link", "set", name + "n", "netns", name},
		{"ip", "addr", "add", l.hostEnd + "/30", "dev", name + "h"},
		{"ip", "link", "set", name + "h", "up"},
		{"ip", "-n", name, "addr", "add", l.nsEnd + "/30", "dev", name + "n"},
		{"ip", "-n", name, "link", "set", name + "n", "up"},
		{"ip", "-n", name, "link", "set", "lo", "up"},
		{"tc", "qdisc", "add", "dev", name + "h", "root", "netem", "delay", half, "limit", "100000"},
		{"tc", "-n", name, "qdisc", "add", "dev", name + "n", "root", "netem", "delay", half, "limit", "100000"},
	} {
		if err := ipCmd(c...); err != nil {
			return l, err
		}
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
// sockets f creates belong to it. The thread is never handed back to the Go
// scheduler (the goroutine exits locked), so nothing else runs there.
func (l *farLink) inNamespace(f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(l.nsFile.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("joining network namespace %s: %v", l.name, err)
			return
		}
		f()
		errc <- nil
	}()
	return <-errc
}

// forward listens on h's address inside the namespace and on the same port
// of this machine's end of the link, and joins them up with h's sshd.
func (l *farLink) forward(h *testworld.Host) error {
	far, err := net.Listen("tcp", net.JoinHostPort(l.hostEnd, "0"))
	if err != nil {
		return err
	}
	l.lns = append(l.lns, far)
	go l.serve(far, func() (net.Conn, error) { return net.DialTimeout("tcp", h.HostPort(), 10*time.Second) })
	farAddr := far.Addr().String()
	var near net.Listener
	if err := l.inNamespace(func() { near, err = net.Listen("tcp", h.HostPort()) }); err != nil {
		return err
	}
	if err != nil {
		return fmt.Errorf("listening on %s in namespace %s: %v", h.HostPort(), l.name, err)
	}
	l.lns = append(l.lns, near)
	go l.serve(near, func() (c net.Conn, err error) {
		// The connection over the link must start inside the namespace.
		if e := l.inNamespace(func() { c, err = net.DialTimeout("tcp", farAddr, 10*time.Second) }); e != nil {
			return nil, e
		}
		return c, err
	})
	return nil
}

func (l *farLink) serve(ln net.Listener, dial func() (net.Conn, error)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			d, err := dial()
			if err != nil {
				c.Close()
				return
			}
			l.track(c, d)
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				io.Copy(dst, src)
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

// checkRTT measures a TCP connect through the link (one round trip) and
// fails when it is not near the wanted delay: the scenario must measure
// what it says.
func (l *farLink) checkRTT(h *testworld.Host) error {
	var best time.Duration
	for range 3 {
		var d time.Duration
		var err error
		if e := l.inNamespace(func() {
			start := time.Now()
			var c net.Conn
			// The namespace's end connects to this machine's end: the SYN and
			// the SYN-ACK each cross the link once.
			c, err = net.DialTimeout("tcp", l.lns[0].Addr().String(), 5*time.Second)
			d = time.Since(start)
			if err == nil {
				c.Close()
			}
		}); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("connecting over the link: %v", err)
		}
		if best == 0 || d < best {
			best = d
		}
	}
	want := time.Duration(l.rttMS) * time.Millisecond
	if best < want || best > want+want/2+20*time.Millisecond {
		return fmt.Errorf("a TCP connect over the link took %v, want about %v", best, want)
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

// close stops the forwarders and removes the namespace and the veth pair.
func (l *farLink) close() {
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
	exec.Command("ip", "link", "del", l.name+"h").Run()
	exec.Command("ip", "netns", "del", l.name).Run()
}
