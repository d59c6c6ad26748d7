package layers

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// The validators below reject values that could not be meant literally
// (a version with a space or a semicolon, a package name with a slash). They
// are the first defence against a hostile value; quoting is the second.

var (
	versionRe = regexp.MustCompile(`^v?[0-9A-Za-z.+_-]+$`)
	// Debian policy 5.6.1: package names are lower case letters, digits, +, - and .,
	// at least two characters, starting with an alphanumeric. A version may be
	// pinned with =VERSION (policy 5.6.12: alphanumerics and . + - ~ :).
	packageRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(=[0-9A-Za-z.+~:-]+)?$`)
	userRe    = regexp.MustCompile(`^[a-z_][a-z0-9_-]*\$?$`)
	modeRe    = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	sha256Re  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

func validateVersion(s string) error {
	if !versionRe.MatchString(s) {
		return fmt.Errorf("%q is not a version: use letters, digits and . + _ - with an optional leading v, such as v2.5.0", s)
	}
	return nil
}

func validateURL(s string) error {
	shown := redactURL(s) // never echo a password, even in an error message
	if strings.ContainsAny(s, " \t\r\n\v\f'\"`\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%q is not a valid URL: it contains whitespace, quotes or control characters", shown)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a valid URL", shown)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http or https URL", shown)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", shown)
	}
	return nil
}

// redactURL replaces the user information of a URL (user:password@) with
// ***, also in strings that do not parse as URLs.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return scheme + "://***" + rest[at:]
	}
	return s
}

func validatePackage(s string) error {
	if !packageRe.MatchString(s) {
		return fmt.Errorf("%q is not a Debian package name: use lower case letters, digits and + - . (at least two characters), optionally followed by =VERSION", s)
	}
	return nil
}

func validateUser(s string) error {
	if len(s) > 32 || !userRe.MatchString(s) {
		return fmt.Errorf("%q is not a valid user name: use lower case letters, digits, _ and -, starting with a letter or _", s)
	}
	return nil
}

// validatePath accepts absolute paths and paths in the SSH user's home
// directory written as ~/...
func validatePath(s string) error {
	if s == "" {
		return fmt.Errorf("the path is empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%q contains a newline, NUL or another control character", s)
	}
	if !strings.HasPrefix(s, "/") && s != "~" && !strings.HasPrefix(s, "~/") {
		return fmt.Errorf("%q must be absolute (/...) or in the home directory (~/...)", s)
	}
	return nil
}

// validateFilePath is validatePath for a file: it must name something below a directory.
func validateFilePath(s string) error {
	if err := validatePath(s); err != nil {
		return err
	}
	if strings.HasSuffix(s, "/") || s == "~" {
		return fmt.Errorf("%q names a directory, not a file", s)
	}
	return nil
}

// validateBinDir is validatePath for a directory that goes on PATH, where a
// colon would split the entry in two.
func validateBinDir(s string) error {
	if err := validatePath(s); err != nil {
		return err
	}
	if strings.Contains(s, ":") {
		return fmt.Errorf("%q cannot go on PATH: it contains a colon", s)
	}
	return nil
}

func validateMode(s string) error {
	if !modeRe.MatchString(s) {
		return fmt.Errorf("%q is not an octal file mode such as \"0644\" or \"0755\"", s)
	}
	return nil
}

// parseMode returns the numeric value of a mode validateMode accepts.
func parseMode(s string) (uint32, error) {
	if err := validateMode(s); err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 8, 32)
	return uint32(v), err
}

// formatMode renders a mode the way users write it: "0644".
func formatMode(m uint32) string { return fmt.Sprintf("%04o", m) }

func validateSHA256(s string) error {
	if !sha256Re.MatchString(s) {
		return fmt.Errorf("%q is not a SHA-256 checksum: expected 64 hexadecimal digits", s)
	}
	return nil
}

func validateNotEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("the command is empty")
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("the command contains a NUL character")
	}
	return nil
}

// stringCheck adapts a string validator to a schema Validate func.
func stringCheck(f func(string) error) func(cty.Value) error {
	return func(v cty.Value) error {
		if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
			return nil
		}
		return f(v.AsString())
	}
}

// listCheck adapts a string validator to a list(string) Validate func.
func listCheck(f func(string) error) func(cty.Value) error {
	return func(v cty.Value) error {
		if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
			return nil
		}
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if e.IsNull() {
				return fmt.Errorf("element %d is null", i)
			}
			if !e.IsKnown() || e.Type() != cty.String {
				continue
			}
			if err := f(e.AsString()); err != nil {
				return err
			}
		}
		return nil
	}
}
