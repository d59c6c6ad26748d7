package layers

import (
	"bufio"
	"bytes"
	"encoding/base64"
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

// parseProbe reads the output of probeScript for n layers. Lines that are not
// facts of this nonce are ignored (a login banner, a stray message). It fails
// when a fact line is malformed or a layer's section is missing or cut short,
// naming the first such layer by index.
func parseProbe(nonce string, n int, out []byte) ([]probeResult, error) {
	prefix := "@@mlops:" + nonce + " "
	res := make([]probeResult, n)
	begun := make([]bool, n)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		fields := strings.Split(rest, " ")
		if len(fields) == 2 {
			fields = append(fields, "") // an empty value may lose its trailing space
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("probe output line %d is malformed: %q", lineNo, line)
		}
		i, err := strconv.Atoi(fields[0])
		if err != nil || i < 0 || i >= n {
			return nil, fmt.Errorf("probe output line %d names layer %q, which was not probed", lineNo, fields[0])
		}
		key := fields[1]
		val, err := base64.StdEncoding.DecodeString(fields[2])
		if err != nil {
			return nil, fmt.Errorf("probe output line %d has a value that is not base64: %v", lineNo, err)
		}
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
			code, err := strconv.Atoi(string(val))
			if err != nil {
				return nil, fmt.Errorf("probe output line %d: layer %d ended with a status that is not a number: %q", lineNo, i, val)
			}
			r.ended, r.exit = true, code
		default:
			if _, dup := r.facts[key]; dup {
				return nil, fmt.Errorf("probe output line %d repeats fact %q of layer %d", lineNo, key, i)
			}
			r.facts[key] = string(val)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading probe output: %v", err)
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

// sectionError is a parse error about one layer's section, so the engine can
// name the layer by its address.
type sectionError struct {
	index int
	msg   string
}

func (e *sectionError) Error() string { return fmt.Sprintf("layer %d: %s", e.index, e.msg) }
