package layers

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// probeResult is one layer's section of the probe output.
type probeResult struct {
	facts facts
	// ended is set when the section's "end" fact arrived; exit is the
	// status of the layer's probe subshell.
	ended bool
	exit  int
}

// parseProbe reads the output of probeScript for n layers. Output that is not
// a fact record of this nonce is ignored (a login banner, a stray message),
// and a record is found even when stray output without a final newline runs
// into it. A record is exactly what __mlops_fact prints: anything else after
// the nonce is an error. Output that ends in the middle of a record is output
// cut short: the record is dropped, and the layer whose section then lacks
// its end is reported. It fails when a record is malformed or a layer's
// section is missing or cut short, naming the first such layer by index. Line
// numbers in errors count every newline of out, those inside values too.
func parseProbe(nonce string, n int, out []byte) ([]probeResult, error) {
	prefix := []byte("@@mlops:" + nonce + " ")
	res := make([]probeResult, n)
	begun := make([]bool, n)
	lineNo := 1
	for pos := 0; ; {
		j := bytes.Index(out[pos:], prefix)
		if j < 0 {
			break
		}
		lineNo += bytes.Count(out[pos:pos+j], []byte("\n"))
		start := pos + j + len(prefix)
		rec, err := parseRecord(out[start:], n, lineNo)
		if err == errCutShort {
			break
		}
		if err != nil {
			return nil, err
		}
		i, key, val := rec.index, rec.key, rec.value
		r := &res[i]
		switch {
		case key == "begin":
			if begun[i] {
				return nil, fmt.Errorf("probe output line %d starts layer %d a second time", lineNo, i)
			}
			begun[i] = true
			r.facts = facts{}
		case !begun[i]:
			return nil, fmt.Errorf("probe output line %d has a fact for layer %d before its section began", lineNo, i)
		case r.ended:
			return nil, fmt.Errorf("probe output line %d has a fact for layer %d after its section ended", lineNo, i)
		case key == "end":
			code, err := strconv.Atoi(val)
			if err != nil {
				return nil, fmt.Errorf("probe output line %d: layer %d ended with a status that is not a number: %q", lineNo, i, val)
			}
			r.ended, r.exit = true, code
		default:
			if _, dup := r.facts[key]; dup {
				return nil, fmt.Errorf("probe output line %d repeats fact %q of layer %d", lineNo, key, i)
			}
			r.facts[key] = val
		}
		lineNo += strings.Count(val, "\n") + 1
		pos = start + rec.size
	}
	for i := range res {
		switch {
		case !begun[i]:
			return res, &sectionError{index: i, msg: "the probe output has no section for it"}
		case !res[i].ended:
			return res, &sectionError{index: i, msg: "its section of the probe output is cut short"}
		}
	}
	return res, nil
}

// record is one fact record of the probe output.
type record struct {
	index      int
	key, value string
	// size is the number of bytes of the record after the prefix, its final
	// newline included.
	size int
}

// errCutShort is parseRecord's answer when the output ends inside the record.
var errCutShort = errors.New("the probe output ends inside a record")

// parseRecord reads "INDEX KEY LENGTH VALUE\n" from the start of b, for n
// layers; lineNo is the line it starts on, for errors.
func parseRecord(b []byte, n, lineNo int) (record, error) {
	var rec record
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return rec, errCutShort
	}
	fields := bytes.SplitN(b[:eol], []byte(" "), 4)
	if len(fields) != 4 || len(fields[1]) == 0 {
		return rec, fmt.Errorf("probe output line %d is malformed: %q", lineNo, clip(b[:eol]))
	}
	i, ok := decimal(fields[0])
	if !ok || i >= n {
		return rec, fmt.Errorf("probe output line %d names layer %q, which was not probed", lineNo, clip(fields[0]))
	}
	length, ok := decimal(fields[2])
	if !ok {
		return rec, fmt.Errorf("probe output line %d has a value length that is not a number: %q", lineNo, clip(fields[2]))
	}
	start := len(fields[0]) + len(fields[1]) + len(fields[2]) + 3
	end := start + length
	switch {
	case end >= len(b):
		return rec, errCutShort
	case b[end] != '\n':
		return rec, fmt.Errorf("probe output line %d has a value of %d bytes that is not followed by a newline", lineNo, length)
	}
	return record{index: i, key: string(fields[1]), value: string(b[start:end]), size: end + 1}, nil
}

// decimal parses a non-negative decimal number of at most 9 digits.
func decimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clip shortens b for an error message.
func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// sectionError is a parse error about one layer's section, so the engine can
// name the layer by its address.
type sectionError struct {
	index int
	msg   string
}

func (e *sectionError) Error() string { return fmt.Sprintf("layer %d: %s", e.index, e.msg) }
