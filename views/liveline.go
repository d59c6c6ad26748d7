package views

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// escapes are the terminal control sequences remote programs may print:
// CSI (colours, cursor movement), OSC (window titles) and two-byte escapes.
var escapes = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)

// screenText is what a terminal would end up showing for one line of remote
// output, made safe to print inside the view: of a line redrawn with
// carriage returns (a progress meter) the last state, without escape
// sequences or control characters, which would move the cursor and break
// the live region.
func screenText(line string) string {
	if strings.Contains(line, "\r") {
		parts := strings.Split(line, "\r")
		line = parts[len(parts)-1]
		for i := len(parts) - 1; i >= 0; i-- {
			if strings.TrimSpace(parts[i]) != "" {
				line = parts[i]
				break
			}
		}
	}
	line = escapes.ReplaceAllString(line, "")
	var b strings.Builder
	for i, r := range line {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError && !strings.HasPrefix(line[i:], "\uFFFD"):
			b.WriteByte('?')
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanLine is printable without surrounding blanks, for a live line.
func cleanLine(line string) string { return strings.TrimSpace(screenText(line)) }

// downloadProgress follows the downloads a layer's output reports: apt's
// "Need to get", "Get:" and "Fetched" lines, and the "downloading: N MiB
// so far" and "downloaded N bytes" lines of the layers' curl downloads.
type downloadProgress struct {
	done, total int64
	seen        bool
}

var (
	aptNeed    = regexp.MustCompile(`^Need to get ([0-9.,]+ [kMG]?B)(?:/([0-9.,]+ [kMG]?B))? of archives`)
	aptGet     = regexp.MustCompile(`^Get:\d+ .*\[([0-9.,]+ [kMG]?B)\]$`)
	aptFetched = regexp.MustCompile(`^Fetched ([0-9.,]+ [kMG]?B) in `)
	curlSoFar  = regexp.MustCompile(`^downloading: (\d+) MiB so far$`)
	curlDone   = regexp.MustCompile(`^downloaded (\d+) bytes$`)
)

// feed reads one line of output.
func (p *downloadProgress) feed(line string) {
	line = strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(line, "downloading ") && !strings.HasPrefix(line, "downloading: "):
		// A new download starts: "downloading URL".
		*p = downloadProgress{seen: true}
	case curlSoFar.MatchString(line):
		n, _ := strconv.ParseInt(curlSoFar.FindStringSubmatch(line)[1], 10, 64)
		p.done, p.seen = n<<20, true
	case curlDone.MatchString(line):
		n, _ := strconv.ParseInt(curlDone.FindStringSubmatch(line)[1], 10, 64)
		p.done, p.total, p.seen = n, 0, true
	case aptNeed.MatchString(line):
		// Of "Need to get 1,024 kB/57.4 MB" only the first part is fetched.
		*p = downloadProgress{total: aptSize(aptNeed.FindStringSubmatch(line)[1]), seen: true}
	case aptGet.MatchString(line):
		p.done += aptSize(aptGet.FindStringSubmatch(line)[1])
		p.seen = true
		if p.total > 0 && p.done > p.total {
			p.done = p.total
		}
	case aptFetched.MatchString(line):
		p.done, p.seen = aptSize(aptFetched.FindStringSubmatch(line)[1]), true
		if p.total > 0 {
			p.total = p.done
		}
	}
}

// String is "↓ 12.3/57.4 MB", "↓ 12.3 MB", or "" before any download.
func (p downloadProgress) String() string {
	if !p.seen {
		return ""
	}
	if p.total > 0 {
		unit, div := siUnit(p.total)
		return fmt.Sprintf("↓ %s/%s %s", siNumber(p.done, div), siNumber(p.total, div), unit)
	}
	unit, div := siUnit(p.done)
	return fmt.Sprintf("↓ %s %s", siNumber(p.done, div), unit)
}

// aptSize reads a size as apt prints it: "1,234 kB", "57.4 MB", "0 B"
// (decimal units).
func aptSize(s string) int64 {
	num, unit, _ := strings.Cut(s, " ")
	f, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
	if err != nil {
		return 0
	}
	switch unit {
	case "kB":
		f *= 1e3
	case "MB":
		f *= 1e6
	case "GB":
		f *= 1e9
	}
	return int64(f)
}

func siUnit(n int64) (string, float64) {
	switch {
	case n >= 1e9:
		return "GB", 1e9
	case n >= 1e6:
		return "MB", 1e6
	case n >= 1e3:
		return "kB", 1e3
	}
	return "B", 1
}

func siNumber(n int64, div float64) string {
	if div == 1 {
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatFloat(float64(n)/div, 'f', 1, 64)
}
