package layers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// The authorized_keys layer lets people in with their own keys. mlops owns
// one block of the SSH user's ~/.ssh/authorized_keys, between two marker
// lines, and rewrites only that block: the key the instance was launched
// with (written by cloud-init) and every line someone else wrote stay as
// they are, and removing a person removes exactly their key.
const (
	authKeysBegin = "# BEGIN mlops authorized_keys (managed by mlops; edit the configuration, not this block)"
	authKeysEnd   = "# END mlops authorized_keys"
	authKeysFile  = "~/.ssh/authorized_keys"
	// authKeysRange is the sed address of the block (the markers hold no
	// character special to a basic regular expression but the dots and
	// parentheses, which match themselves or any character: harmless).
	authKeysRange = `/^# BEGIN mlops authorized_keys/,/^# END mlops authorized_keys$/`
)

func authorizedKeysKind() kind {
	ls := &schema.Layer{
		Description: "Public keys written to the SSH user's ~/.ssh/authorized_keys, in a block mlops manages: lines outside it (the instance's launch key among them) are never touched. Usually written as authorized_keys in the ssh block.",
		Block: schema.Block{Attributes: map[string]*schema.Attribute{
			"keys": {
				Type: cty.List(cty.String), Required: true, Validate: listCheck(validatePublicKey),
				Description: "Public keys in authorized_keys format (ssh-ed25519 AAAA... comment), one per person; no options.",
			},
		}},
	}
	return kind{schema: ls, decode: func(cfg cty.Value) (spec, error) {
		a := attrs{cfg: cfg, ls: ls}
		s := &authKeysSpec{keys: a.strings("keys")}
		return s, a.err
	}}
}

// validatePublicKey accepts one public key line without options.
func validatePublicKey(k string) error {
	if strings.Contains(k, "PRIVATE KEY") {
		return errors.New("a private key: give the public key (the .pub file)")
	}
	if strings.ContainsAny(k, "\n\r") {
		return errors.New("a public key is one line")
	}
	_, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(k))
	if err != nil || len(rest) > 0 || len(opts) > 0 {
		return fmt.Errorf("not a public key in authorized_keys format without options")
	}
	return nil
}

type authKeysSpec struct {
	keys []string
}

// block is the managed block as written to the file, markers included.
func (s *authKeysSpec) block() string {
	var b strings.Builder
	b.WriteString(authKeysBegin + "\n")
	for _, k := range s.keys {
		b.WriteString(strings.TrimSpace(k) + "\n")
	}
	b.WriteString(authKeysEnd + "\n")
	return b.String()
}

func (s *authKeysSpec) sum() string {
	h := sha256.Sum256([]byte(s.block()))
	return hex.EncodeToString(h[:])
}

func (s *authKeysSpec) probe(w *script) {
	w.line("f=", shPath(authKeysFile))
	w.line(`if [ -f "$f" ] && [ -r "$f" ]; then`)
	w.line(`  __mlops_fact exists 1`)
	w.line(`  sum=$(sed -n '`, authKeysRange, `p' "$f" | sha256sum)`)
	w.line(`  __mlops_fact sum "${sum%% *}"`)
	w.line(`  __mlops_fact keys "$(sed -n '`, authKeysRange, `p' "$f" | grep -cv '^#')"`)
	w.line(`fi`)
}

func (s *authKeysSpec) status(f facts) status {
	have := f["keys"]
	st := status{present: f.flag("exists") && have != "" && have != "0"}
	switch {
	case !f.flag("exists"):
		st.reasons = append(st.reasons, authKeysFile+" missing")
	case f["sum"] != s.sum() && st.present:
		st.reasons = append(st.reasons, fmt.Sprintf("mlops' block differs: %s keys -> %d", have, len(s.keys)))
	case f["sum"] != s.sum():
		st.reasons = append(st.reasons, fmt.Sprintf("no block of mlops' in %s", authKeysFile))
	}
	st.satisfied = len(st.reasons) == 0
	return st
}

// rewrite writes the bash that replaces the managed block of the file
// with block ("" removes it), keeping every other line.
func rewriteAuthKeys(w *script, block string) {
	w.line("f=", shPath(authKeysFile))
	w.line(`mkdir -p -- "$HOME/.ssh"`)
	w.line(`chmod 700 -- "$HOME/.ssh"`)
	w.line(`tmp=$(mktemp "$HOME/.ssh/.mlops-authorized_keys.XXXXXX")`)
	w.line(`__mlops_tmps+=("$tmp")`)
	w.line(`if [ -f "$f" ]; then sed '`, authKeysRange, `d' "$f" >"$tmp"; fi`)
	// A last line without its newline would run into the marker.
	w.line(`if [ -s "$tmp" ] && [ -n "$(tail -c1 "$tmp")" ]; then echo >>"$tmp"; fi`)
	if block != "" {
		w.line(`printf '%s' `, quote(base64.StdEncoding.EncodeToString([]byte(block))), ` | base64 -d >>"$tmp"`)
	}
	w.line(`chmod 600 "$tmp"`)
	w.line(`mv -fT "$tmp" "$f"`)
}

func (s *authKeysSpec) apply(w *script, f facts) {
	rewriteAuthKeys(w, s.block())
	w.echo(fmt.Sprintf("wrote %d keys to mlops' block of %s", len(s.keys), authKeysFile))
}

func (s *authKeysSpec) remove(w *script, others []spec) string {
	for _, o := range others {
		if _, ok := o.(*authKeysSpec); ok {
			return "left in place: another authorized_keys layer manages the block"
		}
	}
	w.line(`if [ -f `, shPath(authKeysFile), ` ]; then`)
	rewriteAuthKeys(w, "")
	w.echo("removed mlops' block from " + authKeysFile)
	w.line(`fi`)
	return ""
}

// withAuthorizedKeys adds the authorized_keys kind to the kinds.
func withAuthorizedKeys(m map[string]kind) map[string]kind {
	m["authorized_keys"] = authorizedKeysKind()
	return m
}
