package sshconfig

import (
	"bytes"
	"errors"
	"github.com/mlops-dev/mlops/internal/atomicfile"
	"io/fs"
	"os"
	"strings"
)

// knownHosts is the lines of mlops_known_hosts. mlops writes one line per
// alias, "ALIAS TYPE BASE64"; other lines are kept as they are.
type knownHosts struct {
	lines []string
}

func readKnownHosts(path string) (*knownHosts, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &knownHosts{}, nil
	}
	if err != nil {
		return nil, err
	}
	k := &knownHosts{}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			k.lines = append(k.lines, l)
		}
	}
	return k, nil
}

// get returns the key recorded for alias ("TYPE BASE64"), or "".
func (k *knownHosts) get(alias string) string {
	for _, l := range k.lines {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == alias {
			return f[1] + " " + f[2]
		}
	}
	return ""
}

// set records key for alias, replacing its lines; "" removes them.
func (k *knownHosts) set(alias, key string) {
	var out []string
	done := key == ""
	for _, l := range k.lines {
		if f := strings.Fields(l); len(f) >= 1 && f[0] == alias {
			if !done {
				out = append(out, alias+" "+key)
				done = true
			}
			continue
		}
		out = append(out, l)
	}
	if !done {
		out = append(out, alias+" "+key)
	}
	k.lines = out
}

func (k *knownHosts) bytes() []byte {
	var b bytes.Buffer
	for _, l := range k.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeAtomic replaces path with data (mode perm) so that a reader (ssh,
// a crash) sees the old file or the new one, never a mix.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(path, data, perm)
}
