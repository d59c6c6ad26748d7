package views

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Printable escapes what would act on a terminal instead of showing:
// control characters (ESC starts the sequences that move the cursor,
// retitle the window or rewrite earlier lines), DEL, the C1 controls and
// invalid UTF-8. Remote output, probe facts and values from files reach
// the terminal through it. Tabs stay; a newline stays only when keepNewline.
func Printable(s string, keepNewline bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewline, r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			// Line separators and bidirectional overrides reorder or
			// break what the reader sees.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// printable is Printable for one line.
func printable(s string) string { return Printable(s, false) }
