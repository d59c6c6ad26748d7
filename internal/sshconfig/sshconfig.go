// Package sshconfig keeps the OpenSSH client files that let plain `ssh
// ALIAS` (and VS Code Remote-SSH) reach a machine mlops manages, with no
// prompt:
//
//   - ~/.ssh/mlops_config holds one Host block per alias. mlops owns this
//     file: each block is marked with the stack (state lineage) and the
//     resource address it belongs to, and only that stack rewrites or
//     removes it.
//   - ~/.ssh/mlops_known_hosts holds the pinned host key of each alias,
//     under the alias itself (HostKeyAlias), so the key follows the machine
//     when its address changes.
//   - ~/.ssh/config gets one line, `Include ~/.ssh/mlops_config`, at its top
//     the first time; the rest of the user's file is never touched.
//
// The package knows nothing about plans or HCL: it is given entries and a
// home directory.
package sshconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// IncludeLine is the line added at the top of ~/.ssh/config.
const IncludeLine = "Include ~/.ssh/mlops_config"

// Entry is one Host block: how to reach one machine under an alias.
type Entry struct {
	// Alias is the Host name (see ValidAlias).
	Alias string
	// Address is the resource the alias belongs to ("aws_instance.dev").
	Address  string
	HostName string
	Port     int // 0 means 22
	User     string
	// IdentityFile is the private key's absolute path; "" leaves the
	// choice of key to ssh (agent, defaults).
	IdentityFile string
	// HostKey is the pinned host key in authorized_keys form; "" when none
	// is pinned yet, then ssh pins it at first contact (accept-new).
	HostKey string
	// LocalForwards become LocalForward lines: ssh ALIAS (and VS Code)
	// forward them for as long as the session lasts.
	LocalForwards []LocalForward
	// ProxyCommand, when set, is how ssh reaches the host (mlops ssh -stdio,
	// which starts a stopped instance first).
	ProxyCommand string
}

// LocalForward is one LocalForward line: a loopback port here to
// Host:Port as seen from the machine.
type LocalForward struct {
	LocalPort int
	Host      string
	Port      int
}

// Files are the SSH client files under one home directory.
type Files struct {
	// Home is the home directory whose .ssh is managed.
	Home string
}

// Dir is ~/.ssh.
func (f Files) Dir() string { return filepath.Join(f.Home, ".ssh") }

// UserConfig is ~/.ssh/config.
func (f Files) UserConfig() string { return filepath.Join(f.Dir(), "config") }

// Config is ~/.ssh/mlops_config.
func (f Files) Config() string { return filepath.Join(f.Dir(), "mlops_config") }

// KnownHosts is ~/.ssh/mlops_known_hosts.
func (f Files) KnownHosts() string { return filepath.Join(f.Dir(), "mlops_known_hosts") }

// Action is what Sync did with one alias.
type Action int

const (
	Unchanged Action = iota
	Added
	Updated
	Removed
	// Kept: the entry was left as it was because its machine has no
	// address now (a stopped instance).
	Kept
	// Conflict: the alias belongs to another stack; it was not touched.
	Conflict
)

func (a Action) String() string {
	return [...]string{"unchanged", "added", "updated", "removed", "kept", "conflict"}[a]
}

// Change is the outcome of Sync for one alias.
type Change struct {
	Action Action
	// Entry is the entry as written (Added, Updated, Unchanged), or as it
	// was (Removed, Kept); for Conflict, the entry that was not written.
	Entry Entry
	// Owner is the other stack holding the alias (Conflict).
	Owner string
}

// Result is what Sync did.
type Result struct {
	Changes []Change
	// IncludeAdded is true when the Include line was added to ~/.ssh/config.
	IncludeAdded bool
}

var (
	aliasPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	// hostPattern: a DNS name or an IPv4/IPv6 literal. White space,
	// quotes, % (tokens) and # (comments) would change the file's meaning.
	hostPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,253}$`)
	userPattern = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$`)
)

// ValidAlias reports whether s may be a Host alias: 1 to 64 letters,
// digits, dots, dashes and underscores, not starting with a dash. It is
// the rule config.ValidSSHAlias applies when the configuration is loaded;
// it is checked again here, where the file is written.
func ValidAlias(s string) bool { return aliasPattern.MatchString(s) && !strings.HasPrefix(s, "-") }

// Check reports why an entry cannot be written safely, or nil.
func (e Entry) Check() error {
	switch {
	case !ValidAlias(e.Alias):
		return fmt.Errorf("ssh alias %q: only letters, digits, dots, dashes and underscores are allowed", e.Alias)
	case !hostPattern.MatchString(e.HostName) || strings.HasPrefix(e.HostName, "-"):
		return fmt.Errorf("ssh alias %s: host %q is not a plain host name or IP address", e.Alias, e.HostName)
	case e.Port < 0 || e.Port > 65535:
		return fmt.Errorf("ssh alias %s: port %d is out of range", e.Alias, e.Port)
	case e.User != "" && !userPattern.MatchString(e.User):
		return fmt.Errorf("ssh alias %s: user %q is not a plain user name", e.Alias, e.User)
	case e.IdentityFile != "" && (!filepath.IsAbs(e.IdentityFile) || strings.ContainsAny(e.IdentityFile, "\"\n\r\x00")):
		return fmt.Errorf("ssh alias %s: private key path %q must be absolute and free of quotes and line breaks", e.Alias, e.IdentityFile)
	}
	if err := e.checkExtras(); err != nil {
		return err
	}
	if e.HostKey != "" {
		if _, err := normalizeKey(e.HostKey); err != nil {
			return fmt.Errorf("ssh alias %s: host key: %v", e.Alias, err)
		}
	}
	return nil
}

// normalizeKey parses a host key ("ssh-ed25519 AAAA..." with or without a
// comment, or a known_hosts line) and returns "TYPE BASE64".
func normalizeKey(s string) (string, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		if _, _, k, _, _, kerr := ssh.ParseKnownHosts([]byte(s)); kerr == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))), nil
}

// Sync makes the entries that stack owns exactly want, in one locked
// read-modify-write of the files:
//   - an entry of want is added, or rewritten when anything in it changed;
//   - an alias of want whose entry has no HostName is Kept as it is (its
//     machine is stopped and has no address);
//   - an entry of the stack that is not in want is removed, with its
//     known_hosts line;
//   - an alias held by another stack is left alone (Conflict).
//
// Entries of other stacks and unrelated known_hosts lines are kept as they
// are. The Include line is added to ~/.ssh/config when an entry was added
// or updated and no Include of mlops_config is there. Changes come sorted by alias.
func (f Files) Sync(stack string, want []Entry) (Result, error) {
	var res Result
	if stack == "" {
		return res, errors.New("sshconfig: no stack identifier")
	}
	wanted := map[string]Entry{}
	for _, e := range want {
		if _, dup := wanted[e.Alias]; dup {
			return res, fmt.Errorf("ssh alias %s is used by more than one resource", e.Alias)
		}
		if e.HostName != "" {
			if err := e.Check(); err != nil {
				return res, err
			}
		} else if !ValidAlias(e.Alias) {
			return res, fmt.Errorf("ssh alias %q: only letters, digits, dots, dashes and underscores are allowed", e.Alias)
		}
		wanted[e.Alias] = e
	}
	adding := false
	for _, e := range wanted {
		adding = adding || e.HostName != ""
	}
	if !adding {
		// Nothing to write but removals: without a file there is nothing to do.
		if _, err := os.Stat(f.Config()); errors.Is(err, fs.ErrNotExist) {
			return res, nil
		}
	}
	if err := os.MkdirAll(f.Dir(), 0o700); err != nil {
		return res, err
	}
	unlock, err := lockDir(f.Dir())
	if err != nil {
		return res, err
	}
	defer unlock()

	blocks, err := f.readConfig()
	if err != nil {
		return res, err
	}
	known, err := readKnownHosts(f.KnownHosts())
	if err != nil {
		return res, err
	}
	setKey := map[string]string{} // alias -> normalized key; "" removes

	var out []block
	seen := map[string]bool{}
	for _, b := range blocks {
		w, isWanted := wanted[b.alias]
		switch {
		case b.stack != stack && isWanted:
			res.Changes = append(res.Changes, Change{Action: Conflict, Entry: w, Owner: b.stack})
			seen[b.alias] = true
			out = append(out, b)
		case b.stack != stack:
			out = append(out, b)
		case !isWanted:
			res.Changes = append(res.Changes, Change{Action: Removed, Entry: b.entry})
			setKey[b.alias] = ""
		case w.HostName == "":
			seen[b.alias] = true
			res.Changes = append(res.Changes, Change{Action: Kept, Entry: b.entry})
			out = append(out, b)
		default:
			seen[b.alias] = true
			nb := newBlock(stack, w, f.KnownHosts())
			key, _ := normalizeKey(w.HostKey)
			act := Unchanged
			if nb.text != b.text || known.get(w.Alias) != key {
				act = Updated
			}
			res.Changes = append(res.Changes, Change{Action: act, Entry: w})
			setKey[w.Alias] = key
			out = append(out, nb)
		}
	}
	for _, alias := range sortedAliases(wanted) {
		w := wanted[alias]
		if seen[alias] || w.HostName == "" {
			continue
		}
		key, _ := normalizeKey(w.HostKey)
		res.Changes = append(res.Changes, Change{Action: Added, Entry: w})
		setKey[alias] = key
		out = append(out, newBlock(stack, w, f.KnownHosts()))
	}
	sort.SliceStable(res.Changes, func(i, j int) bool { return res.Changes[i].Entry.Alias < res.Changes[j].Entry.Alias })

	changed := false
	for _, c := range res.Changes {
		if c.Action == Added || c.Action == Updated || c.Action == Removed {
			changed = true
		}
	}
	if !changed {
		return res, nil
	}
	for alias, key := range setKey {
		known.set(alias, key)
	}
	if err := writeAtomic(f.KnownHosts(), known.bytes(), 0o600); err != nil {
		return res, err
	}
	if err := writeAtomic(f.Config(), renderConfig(out), 0o600); err != nil {
		return res, err
	}
	for _, c := range res.Changes {
		if c.Action == Added || c.Action == Updated {
			res.IncludeAdded, err = f.ensureInclude()
			return res, err
		}
	}
	return res, nil
}

// Entries returns the entries of mlops_config, sorted by alias; stack is
// each one's owner.
func (f Files) Entries() (entries []Entry, stacks []string, err error) {
	blocks, err := f.readConfig()
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].alias < blocks[j].alias })
	for _, b := range blocks {
		entries = append(entries, b.entry)
		stacks = append(stacks, b.stack)
	}
	return entries, stacks, nil
}

func sortedAliases(m map[string]Entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ensureInclude adds IncludeLine at the top of ~/.ssh/config unless an
// Include of mlops_config is already there. The user's bytes follow it
// unchanged; a missing file is created with mode 0600. A symbolic link
// (dotfile managers) is followed, not replaced.
func (f Files) ensureInclude() (bool, error) {
	path := f.UserConfig()
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if hasInclude(old, f.Config()) {
		return false, nil
	}
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	data := append([]byte(IncludeLine+"\n"), old...)
	return true, writeAtomic(path, data, mode)
}

// hasInclude reports whether config has an Include line naming the
// mlops_config file (as ~/.ssh/mlops_config, mlops_config, or its absolute
// path), anywhere.
func hasInclude(config []byte, abs string) bool {
	for _, line := range strings.Split(string(config), "\n") {
		fields := strings.Fields(strings.ReplaceAll(line, "=", " "))
		if len(fields) < 2 || !strings.EqualFold(fields[0], "include") {
			continue
		}
		for _, arg := range fields[1:] {
			switch strings.Trim(arg, `"`) {
			case "~/.ssh/mlops_config", "mlops_config", abs:
				return true
			}
		}
	}
	return false
}

// block is one Host block of mlops_config, with the marker line above it.
type block struct {
	stack string
	alias string
	entry Entry
	text  string // the marker line and the block, each line ending in "\n"
}

const (
	header = `# Managed by mlops: one Host block per ssh { alias = "..." } of a configuration,
# rewritten by mlops apply and removed by mlops destroy. Edits here are lost;
# change the configuration instead. ~/.ssh/config includes this file.
`
	markerPrefix = "# mlops: stack="
)

// newBlock renders an entry. Paths are quoted and their % doubled: ssh
// expands %-tokens in IdentityFile and UserKnownHostsFile.
func newBlock(stack string, e Entry, knownHosts string) block {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s address=%s\n", markerPrefix, stack, e.Address)
	fmt.Fprintf(&b, "Host %s\n", e.Alias)
	fmt.Fprintf(&b, "  HostName %s\n", e.HostName)
	port := e.Port
	if port == 0 {
		port = 22
	}
	fmt.Fprintf(&b, "  Port %d\n", port)
	if e.User != "" {
		fmt.Fprintf(&b, "  User %s\n", e.User)
	}
	if e.IdentityFile != "" {
		fmt.Fprintf(&b, "  IdentityFile %s\n", quotePath(e.IdentityFile))
		b.WriteString("  IdentitiesOnly yes\n")
	}
	fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", quotePath(knownHosts))
	fmt.Fprintf(&b, "  HostKeyAlias %s\n", e.Alias)
	if e.HostKey != "" {
		b.WriteString("  StrictHostKeyChecking yes\n")
	} else {
		b.WriteString("  StrictHostKeyChecking accept-new\n")
	}
	b.WriteString("  CheckHostIP no\n")
	writeExtras(&b, e)
	return block{stack: stack, alias: e.Alias, entry: e, text: b.String()}
}

func quotePath(p string) string {
	return strconv.Quote(strings.ReplaceAll(p, "%", "%%"))
}

func unquotePath(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	return strings.ReplaceAll(s, "%%", "%")
}

func renderConfig(blocks []block) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, bl := range blocks {
		b.WriteString("\n")
		b.WriteString(bl.text)
	}
	return b.Bytes()
}

// readConfig parses mlops_config into its blocks; a missing file has none.
// Lines outside marked blocks (the header, blank lines) are dropped.
func (f Files) readConfig() ([]block, error) {
	data, err := os.ReadFile(f.Config())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var blocks []block
	var cur *block
	flush := func() {
		if cur != nil && cur.alias != "" {
			blocks = append(blocks, *cur)
		}
		cur = nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(trimmed, markerPrefix); ok {
			flush()
			stack, addr, _ := strings.Cut(rest, " address=")
			cur = &block{stack: strings.TrimSpace(stack), entry: Entry{Address: strings.TrimSpace(addr)}}
			cur.text = line + "\n"
			continue
		}
		if cur == nil {
			continue
		}
		if trimmed == "" {
			flush()
			continue
		}
		cur.text += line + "\n"
		key, val, _ := strings.Cut(trimmed, " ")
		val = strings.TrimSpace(val)
		switch strings.ToLower(key) {
		case "host":
			cur.alias, cur.entry.Alias = val, val
		case "hostname":
			cur.entry.HostName = val
		case "port":
			cur.entry.Port, _ = strconv.Atoi(val)
		case "user":
			cur.entry.User = val
		case "identityfile":
			cur.entry.IdentityFile = unquotePath(val)
		}
	}
	flush()
	known, err := readKnownHosts(f.KnownHosts())
	if err != nil {
		return nil, err
	}
	for i := range blocks {
		blocks[i].entry.HostKey = known.get(blocks[i].alias)
	}
	return blocks, nil
}
