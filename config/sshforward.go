package config

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Forward is one private port forward of an ssh block: a port on this
// machine's loopback that reaches a port on (or seen from) the host through
// SSH, with no security group rule.
type Forward struct {
	Name string
	// LocalPort listens on 127.0.0.1 here.
	LocalPort int
	// RemoteHost and RemotePort are dialled from the host ("localhost" by default).
	RemoteHost string
	RemotePort int
}

var (
	forwardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	forwardHost = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}$`)
)

// parseForwards reads ssh { forward = { NAME = SPEC } }, where SPEC is a
// remote port ("8888": the same local port), "LOCAL:REMOTE", or
// "LOCAL:HOST:REMOTE" to reach HOST:REMOTE from the host, as ssh -L takes it.
func parseForwards(v cty.Value) ([]Forward, error) {
	var out []Forward
	used := map[int]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		name := k.AsString()
		if !forwardName.MatchString(name) {
			return nil, fmt.Errorf("the forward name %q must be 1 to 32 letters, digits, dashes or underscores", name)
		}
		if e.IsNull() || !e.IsKnown() {
			return nil, fmt.Errorf("forward %s has no value", name)
		}
		f, err := parseForward(name, e.AsString())
		if err != nil {
			return nil, err
		}
		if other, dup := used[f.LocalPort]; dup {
			return nil, fmt.Errorf("forwards %s and %s both use local port %d", other, name, f.LocalPort)
		}
		used[f.LocalPort] = name
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func parseForward(name, spec string) (Forward, error) {
	f := Forward{Name: name, RemoteHost: "localhost"}
	parts := strings.Split(spec, ":")
	port := func(s string) (int, error) {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("forward %s = %q: %q is not a port from 1 to 65535; write a remote port (8888), \"LOCAL:REMOTE\" or \"LOCAL:HOST:REMOTE\"", name, spec, s)
		}
		return p, nil
	}
	var err error
	switch len(parts) {
	case 1:
		f.RemotePort, err = port(parts[0])
		f.LocalPort = f.RemotePort
	case 2:
		if f.LocalPort, err = port(parts[0]); err == nil {
			f.RemotePort, err = port(parts[1])
		}
	case 3:
		if f.LocalPort, err = port(parts[0]); err == nil {
			f.RemotePort, err = port(parts[2])
		}
		f.RemoteHost = parts[1]
		if err == nil && (!forwardHost.MatchString(parts[1]) || strings.HasPrefix(parts[1], "-")) && net.ParseIP(parts[1]) == nil {
			err = fmt.Errorf("forward %s = %q: %q is not a host name or IPv4 address", name, spec, parts[1])
		}
	default:
		err = fmt.Errorf("forward %s = %q: write a remote port (8888), \"LOCAL:REMOTE\" or \"LOCAL:HOST:REMOTE\"", name, spec)
	}
	return f, err
}
