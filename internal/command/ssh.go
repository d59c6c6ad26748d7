package command

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
	"golang.org/x/term"
)

const sshUsage = `
Usage: mlops [-chdir=DIR] ssh [options] ALIAS|ADDRESS [-- COMMAND [ARG...]]

  Opens an SSH session to a host the state records, named by its ssh alias
  or its resource address (aws_instance.NAME), with the key, user, port and
  pinned host key mlops itself uses; a different host key is refused.

  With a COMMAND, runs it (joined with spaces and run by the remote shell,
  as ssh does) and exits with its exit status. Without one, starts a login
  shell, with a terminal when stdin is one.

  A stopped instance whose ssh block has wake = true is started first.

  Exit status: the remote command's, or 255 when mlops could not run it
  (unknown host, no connection, host key changed), as ssh does.

Options:
  -t                   Request a terminal for a COMMAND too (when stdin is one).
  -forward             Hold the ssh block's port forwards (forward = {...}) open
                       on 127.0.0.1 until Ctrl-C, printing their local URLs.
  -stdio               Carry an ssh client's connection on stdin and stdout, as
                       the ProxyCommand of an alias with wake = true does;
                       a stopped instance with wake = true is started first.
  -var NAME=VALUE      Set a variable (repeatable), as given to apply.
  -var-file FILE       Read variables from an HCL file (repeatable).
  -state PATH          Local state file (default .mlops/state.json).
`

// sshFailed is the exit status of mlops ssh when the remote command did
// not run, as ssh's.
const sshFailed = 255

// sshOptions are the parsed arguments of mlops ssh.
type sshOptions struct {
	vf        varFlags
	statePath string
	chdir     string
	forceTTY  bool
	forward   bool     // hold the ssh block's port forwards open
	stdio     bool     // carry an ssh client's connection (ProxyCommand)
	target    string   // alias or resource address
	command   []string // empty: login shell
}

func parseSSHFlags(d Deps, args []string) (*sshOptions, bool) {
	o := &sshOptions{}
	fs := newFlags(d, "ssh", sshUsage)
	fs.Var(&o.vf.vars, "var", "")
	fs.Var(&o.vf.varFiles, "var-file", "")
	fs.StringVar(&o.statePath, "state", "", "")
	fs.StringVar(&o.chdir, "chdir", "", "")
	fs.BoolVar(&o.forceTTY, "t", false, "")
	fs.BoolVar(&o.forward, "forward", false, "")
	fs.BoolVar(&o.stdio, "stdio", false, "")
	if !parseFlags(d, fs, sshUsage, args) {
		return nil, false
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "--" {
		views.RenderUsageError(d.Streams.Err, "name the host: an ssh alias or a resource address", sshUsage)
		return nil, false
	}
	o.target, o.command = rest[0], rest[1:]
	// "mlops ssh ALIAS -forward" (and -stdio, as a ProxyCommand may put
	// it): flags after the host, when nothing else follows.
	if len(o.command) == 1 && strings.HasPrefix(o.command[0], "-") {
		switch strings.TrimLeft(o.command[0], "-") {
		case "forward":
			o.forward, o.command = true, nil
		case "stdio":
			o.stdio, o.command = true, nil
		}
	}
	if (o.forward || o.stdio) && len(o.command) > 0 {
		views.RenderUsageError(d.Streams.Err, "-forward and -stdio take no command", sshUsage)
		return nil, false
	}
	if len(o.command) > 0 && o.command[0] == "--" {
		o.command = o.command[1:]
	}
	return o, true
}

func runSSH(d Deps, g globals, args []string) int {
	o, ok := parseSSHFlags(d, args)
	if !ok {
		return sshFailed
	}
	l, store, h, hdiags, ok := sshTarget(d, g, o)
	if !ok {
		return sshFailed
	}
	ctx := d.ctx()
	if o.stdio {
		return runStdio(ctx, d, l, store, h)
	}
	if h, ok = sshReady(d, l, store, h, hdiags); !ok {
		return sshFailed
	}
	target := l.engine.HostTarget(h.Addr, h.SSH)
	conn, err := l.world.hosts.Dial(ctx, target, h.HostKey)
	if err != nil {
		summary := "Cannot connect to host over SSH"
		var mismatch *host.HostKeyMismatchError
		if errors.As(err, &mismatch) {
			summary = "Host key changed"
		}
		renderError(d, false, summary, err)
		return sshFailed
	}
	defer conn.Close()
	if h.HostKey == "" {
		views.NewSSHNotices(d.Streams).HostKeyAccepted(h.Addr, conn.HostKey())
	}
	if o.forward {
		return runForwards(ctx, d, conn, h)
	}
	return sshExec(d, o, conn)
}

// sshTarget loads the configuration and the recorded state and finds the
// host o names; hdiags are the problems evaluating the ssh blocks.
func sshTarget(d Deps, g globals, o *sshOptions) (l *loaded, store state.Store, h plan.HostSSH, hdiags hcl.Diagnostics, ok bool) {
	dir := configDir(d, g, o.chdir)
	l, diags := loadConfig(d, dir, o.vf, true)
	if diags.HasErrors() {
		renderDiags(d, false, cfgOf(l), diags)
		return nil, nil, h, nil, false
	}
	ctx := d.ctx()
	if d.intr != nil {
		d.intr.exitCode(sshFailed)
	}
	store, err := stateStore(ctx, d, dir, l.cfg, o.statePath)
	if err != nil {
		renderError(d, false, "Cannot open the state", err)
		return nil, nil, h, nil, false
	}
	st, err := store.Read(ctx)
	if err != nil {
		renderError(d, false, "Cannot read the state", err)
		return nil, nil, h, nil, false
	}
	if st == nil {
		renderError(d, false, "No state", errors.New("nothing has been applied here yet: run mlops apply first"))
		return nil, nil, h, nil, false
	}
	hosts, hdiags := l.engine.SSHHosts(st)
	if h, err = findSSHHost(hosts, o.target); err != nil {
		renderError(d, false, "Unknown host", err)
		return nil, nil, h, nil, false
	}
	return l, store, h, hdiags, true
}

// sshReady starts a stopped host whose ssh block has wake = true, and
// refuses one that stays stopped or has no address.
func sshReady(d Deps, l *loaded, store state.Store, h plan.HostSSH, hdiags hcl.Diagnostics) (plan.HostSSH, bool) {
	if h.Stopped && h.SSH.Wake {
		views.NewSSHNotices(d.Streams).Waking(h.Addr)
		started, err := wake(d.ctx(), d, l, store, h)
		if err != nil {
			renderError(d, false, "Cannot start "+h.Addr.String(), err)
			return h, false
		}
		h = started
	}
	switch {
	case h.Stopped:
		renderError(d, false, "Host is stopped", fmt.Errorf("%s is stopped (running = false); start it with mlops apply first", h.Addr))
		return h, false
	case !h.SSH.Known || h.SSH.Host == "":
		renderDiags(d, false, l.cfg, hdiags)
		renderError(d, false, "No address", fmt.Errorf("the ssh block of %s has no known host; are the variables given to apply given here too (-var)?", h.Addr))
		return h, false
	}
	return h, true
}

// sshExec runs the command (or a login shell) over conn, with a terminal
// when stdin is one and either there is no command or -t asks for it.
func sshExec(d Deps, o *sshOptions, conn *host.Conn) int {
	req := host.ExecRequest{Command: strings.Join(o.command, " "), Stdin: d.Streams.In, Stdout: d.Streams.Out, Stderr: d.Streams.Err}
	if in, isFile := d.Streams.In.(*os.File); isFile && d.Streams.InTTY && (len(o.command) == 0 || o.forceTTY) {
		fd := int(in.Fd())
		width, height, err := term.GetSize(fd)
		if err != nil {
			width, height = 80, 24
		}
		termName := d.getenv("TERM")
		if termName == "" {
			termName = "xterm"
		}
		req.PTY = &host.PTY{Term: termName, WindowSize: host.WindowSize{Width: width, Height: height}}
		old, err := term.MakeRaw(fd)
		if err != nil {
			renderError(d, false, "Cannot set up the terminal", err)
			return sshFailed
		}
		defer term.Restore(fd, old)
		resize, stop := watchWindowSize(fd)
		defer stop()
		req.Resize = resize
	}
	code, err := conn.Exec(d.ctx(), req)
	if err != nil {
		views.NewSSHNotices(d.Streams).ExecFailed(err, req.PTY != nil)
		if code < 0 {
			return sshFailed
		}
	}
	return code
}

// findSSHHost picks the host named by alias or resource address.
func findSSHHost(hosts []plan.HostSSH, name string) (plan.HostSSH, error) {
	var known []string
	addr, addrErr := addrs.ParseResource(name)
	for _, h := range hosts {
		if h.SSH.Alias == name || addrErr == nil && h.Addr == addr {
			return h, nil
		}
		if h.SSH.Alias != "" {
			known = append(known, h.SSH.Alias+" ("+h.Addr.String()+")")
		} else {
			known = append(known, h.Addr.String())
		}
	}
	sort.Strings(known)
	if len(known) == 0 {
		return plan.HostSSH{}, fmt.Errorf("no host named %q: the state records no resource with an ssh block", name)
	}
	return plan.HostSSH{}, fmt.Errorf("no host named %q; the state has: %s", name, strings.Join(known, ", "))
}
