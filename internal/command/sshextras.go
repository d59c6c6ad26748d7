package command

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlops-dev/mlops/internal/shellword"
	"github.com/mlops-dev/mlops/internal/sshconfig"
	"github.com/mlops-dev/mlops/plan"
)

// addSSHExtras gives the alias entries of hosts their port forwards
// (LocalForward lines) and, with wake = true, the ProxyCommand that starts
// a stopped instance: mlops -chdir=DIR ssh -stdio ALIAS. It returns
// warnings for what it cannot write.
func addSSHExtras(d Deps, dir string, hosts []plan.HostSSH, entries []sshconfig.Entry) []string {
	var warnings []string
	byAlias := map[string]plan.HostSSH{}
	for _, h := range hosts {
		if h.SSH.Alias != "" {
			if _, dup := byAlias[h.SSH.Alias]; !dup {
				byAlias[h.SSH.Alias] = h
			}
		}
	}
	for i := range entries {
		e := &entries[i]
		h, ok := byAlias[e.Alias]
		if !ok || e.HostName == "" {
			continue
		}
		for _, f := range h.SSH.Forwards {
			e.LocalForwards = append(e.LocalForwards, sshconfig.LocalForward{LocalPort: f.LocalPort, Host: f.RemoteHost, Port: f.RemotePort})
		}
		if h.SSH.Wake {
			exe, err := d.executable()
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("ssh alias %s: no ProxyCommand for wake = true: cannot tell where the mlops binary is: %v", e.Alias, err))
			} else {
				e.ProxyCommand = shellword.Quote(exe) + " -chdir=" + shellword.Quote(dir) + " ssh -stdio " + e.Alias
			}
		}
		if err := e.Check(); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v; its forwards and proxy command are not written", h.Addr, err))
			e.LocalForwards, e.ProxyCommand = nil, ""
		}
	}
	return warnings
}

// executable is the absolute path of the running mlops binary.
func (d Deps) executable() (string, error) {
	f := d.Executable
	if f == nil {
		f = os.Executable
	}
	p, err := f()
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}
