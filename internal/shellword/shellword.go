// Package shellword quotes strings as single words for a POSIX shell.
package shellword

import "strings"

// Quote returns s as one shell word that expands to exactly s. It wraps s
// in single quotes, inside which nothing is special to the shell, and
// writes each single quote of s as: close the quote, a backslash-escaped
// quote, reopen.
//
//	it's  ->  'it'\''s'
//
// No value can break out of its word, whatever it contains.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
