package sshconfig

import (
	"fmt"
	"regexp"
	"strings"
)

var forwardHostPattern = regexp.MustCompile(`^[A-Za-z0-9.:-]{1,253}$`)

// checkExtras reports why an entry's forwards or proxy command cannot be
// written safely.
func (e Entry) checkExtras() error {
	for _, f := range e.LocalForwards {
		if f.LocalPort < 1 || f.LocalPort > 65535 || f.Port < 1 || f.Port > 65535 {
			return fmt.Errorf("ssh alias %s: forward %d -> %s:%d: ports must be 1 to 65535", e.Alias, f.LocalPort, f.Host, f.Port)
		}
		if !forwardHostPattern.MatchString(f.Host) || strings.HasPrefix(f.Host, "-") {
			return fmt.Errorf("ssh alias %s: forward host %q is not a plain host name or IP address", e.Alias, f.Host)
		}
	}
	if strings.ContainsAny(e.ProxyCommand, "\n\r\x00") {
		return fmt.Errorf("ssh alias %s: the proxy command must be one line", e.Alias)
	}
	return nil
}

// writeExtras writes the LocalForward and ProxyCommand lines of an entry.
// ssh expands %-tokens in ProxyCommand; the command is written with its %
// doubled, so it runs as given.
func writeExtras(b *strings.Builder, e Entry) {
	for _, f := range e.LocalForwards {
		host := f.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		fmt.Fprintf(b, "  LocalForward 127.0.0.1:%d %s:%d\n", f.LocalPort, host, f.Port)
	}
	if e.ProxyCommand != "" {
		fmt.Fprintf(b, "  ProxyCommand %s\n", strings.ReplaceAll(e.ProxyCommand, "%", "%%"))
	}
}
