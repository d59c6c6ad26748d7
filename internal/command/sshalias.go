package command

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/mlops-dev/mlops/internal/sshconfig"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	"github.com/mlops-dev/mlops/views"
)

// sshFiles are the SSH client files under $HOME (from Deps.Env); ok is
// false without a HOME.
func sshFiles(d Deps) (sshconfig.Files, bool) {
	home := d.getenv("HOME")
	return sshconfig.Files{Home: home}, home != ""
}

// syncSSHAliases brings ~/.ssh/mlops_config in line with the hosts st
// records (the state after an apply or destroy) and says what changed, one
// line per alias. A failure is a warning: the apply itself is done.
func syncSSHAliases(d Deps, e *plan.Engine, st *state.State, jsonHooks *views.JSONHooks) {
	if e == nil || st == nil || st.Lineage == "" {
		return
	}
	files, ok := sshFiles(d)
	hosts, _ := e.SSHHosts(st) // hosts whose ssh block fails to evaluate keep their entry
	entries, warnings := aliasEntries(d, hosts)
	warnings = append(warnings, addSSHExtras(d, e.Config.Dir, hosts, entries)...)
	v := views.NewSSHAliases(d.Streams, jsonHooks)
	if !ok {
		if len(entries) > 0 {
			v.Warnings([]string{"ssh aliases not written: HOME is not set"})
		}
		return
	}
	v.Warnings(warnings)
	res, err := files.Sync(st.Lineage, entries)
	if err != nil {
		v.Warnings([]string{fmt.Sprintf("ssh aliases not written to ~/.ssh/mlops_config: %v", err)})
		return
	}
	v.Changes(aliasLines(res))
}

// aliasLines says what Sync did, one line per alias that is not unchanged,
// and one for the Include line when it was added.
func aliasLines(res sshconfig.Result) []views.AliasLine {
	var lines []views.AliasLine
	say := func(level, msg string) { lines = append(lines, views.AliasLine{Level: level, Message: msg}) }
	for _, c := range res.Changes {
		e := c.Entry
		switch c.Action {
		case sshconfig.Added:
			say("info", fmt.Sprintf("ssh alias %s -> %s added in ~/.ssh/mlops_config (ssh %s)", e.Alias, hostPort(e), e.Alias))
		case sshconfig.Updated:
			say("info", fmt.Sprintf("ssh alias %s -> %s updated in ~/.ssh/mlops_config", e.Alias, hostPort(e)))
		case sshconfig.Removed:
			say("info", fmt.Sprintf("ssh alias %s removed from ~/.ssh/mlops_config", e.Alias))
		case sshconfig.Kept:
			say("info", fmt.Sprintf("ssh alias %s -> %s kept in ~/.ssh/mlops_config (%s has no address while stopped)", e.Alias, hostPort(e), e.Address))
		case sshconfig.Conflict:
			say("warn", fmt.Sprintf("ssh alias %s belongs to another stack (state lineage %s) in ~/.ssh/mlops_config; it was not changed. Choose another alias, or destroy that stack first.", e.Alias, c.Owner))
		}
	}
	if res.IncludeAdded {
		say("info", fmt.Sprintf("added %q at the top of ~/.ssh/config", sshconfig.IncludeLine))
	}
	return lines
}

func hostPort(e sshconfig.Entry) string {
	port := e.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(e.HostName, strconv.Itoa(port))
}

// aliasEntries turns the hosts with an alias into entries. A host without
// a current address (stopped, or its address unknown) gives an entry
// without HostName, which keeps what the file has. Entries that cannot be
// written safely, and second users of one alias, are left out with a
// warning.
func aliasEntries(d Deps, hosts []plan.HostSSH) ([]sshconfig.Entry, []string) {
	var entries []sshconfig.Entry
	var warnings []string
	owner := map[string]string{}
	for _, h := range hosts {
		alias := h.SSH.Alias
		if alias == "" {
			continue
		}
		if first, dup := owner[alias]; dup {
			warnings = append(warnings, fmt.Sprintf("ssh alias %s is set on both %s and %s; it stays with %s", alias, first, h.Addr, first))
			continue
		}
		owner[alias] = h.Addr.String()
		e := sshconfig.Entry{Alias: alias, Address: h.Addr.String()}
		if !h.Stopped && h.SSH.Known && h.SSH.Host != "" {
			e.HostName, e.Port, e.User, e.HostKey = h.SSH.Host, h.SSH.Port, h.SSH.User, h.HostKey
			if key := aliasKeyFile(d, h); key != "" {
				if !filepath.IsAbs(key) {
					key = filepath.Join(d.Cwd, key)
				}
				e.IdentityFile = key
			}
			if err := e.Check(); err != nil {
				// Left as the file has it.
				warnings = append(warnings, fmt.Sprintf("%s not written to ~/.ssh/mlops_config: %v", h.Addr, err))
				e = sshconfig.Entry{Alias: alias, Address: h.Addr.String()}
			}
		}
		entries = append(entries, e)
	}
	return entries, warnings
}
