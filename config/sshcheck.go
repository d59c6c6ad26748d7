package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

var (
	// sshUserPattern is what useradd accepts by default, plus capitals and
	// dots (some images use them); never a leading dash (an option of ssh).
	sshUserPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]{0,31}$`)
	// hostLabelPattern is one label of a DNS name.
	hostLabelPattern = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)
)

// checkSSHSetting checks an evaluated ssh setting offline, so that a value
// that can never work is reported with its file and line by validate and
// plan, before any connection.
func checkSSHSetting(name, v string) error {
	switch name {
	case "user":
		if !sshUserPattern.MatchString(v) {
			return fmt.Errorf("the ssh user must be a user name (letters, digits, . _ -, up to 32, not starting with a dash or digit); got %s", quoteClipped(v, 80))
		}
	case "host":
		if v == "" {
			return fmt.Errorf("the ssh host is empty")
		}
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")); ip != nil {
			return nil
		}
		labels := strings.Split(strings.TrimSuffix(v, "."), ".")
		for _, l := range labels {
			if !hostLabelPattern.MatchString(l) {
				return fmt.Errorf("the ssh host must be an IP address or a DNS name; got %s", quoteClipped(v, 80))
			}
		}
		if len(v) > 253 {
			return fmt.Errorf("the ssh host is longer than a DNS name can be (253)")
		}
	case "host_key":
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v)); err == nil {
			return nil
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(v)); err == nil {
			return nil
		}
		return fmt.Errorf("the host key must be a public key like \"ssh-ed25519 AAAA...\" (a line of the host's /etc/ssh/ssh_host_*_key.pub) or a known_hosts line; got %s", quoteClipped(v, 80))
	case "private_key":
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("the private key must be a file path; got %s", quoteClipped(v, 80))
		}
		// The file may not exist yet (an aws_key_pair creates it), but
		// when it does it must be a file.
		if fi, err := os.Stat(v); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("the private key %s is not a regular file", quoteClipped(v, 200))
		}
	}
	return nil
}
