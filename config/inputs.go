package config

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
)

// Where a variable's value came from (Variable.Source). A saved plan records
// them so that apply can tell which variable moved since the plan was made.
const (
	SourceDefault = "default"
	SourceEnv     = "environment"
	SourceFlag    = "-var"
	// SourceVarFile is followed by the file's path.
	SourceVarFile = "var-file "
)

// fileReads records the files that file() read while evaluating, with the
// digest of the bytes it read: a saved plan is made from them as much as
// from the *.hcl files. Evaluation may run in parallel goroutines (one per
// resource), hence the lock.
type fileReads struct {
	mu    sync.Mutex
	files map[string]string
}

func (r *fileReads) record(path string, src []byte) {
	sum := sha256.Sum256(src)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[string]string{}
	}
	r.files[path] = "sha256:" + hex.EncodeToString(sum[:])
}

// FileInput is one file that file() read: its path (absolute, as resolved)
// and the digest of the content read ("sha256:HEX").
type FileInput struct {
	Path   string
	Digest string
}

// FilesRead returns the files file() has read so far in any evaluation of
// this configuration, sorted by path. The last read of a file wins.
func (c *Config) FilesRead() []FileInput {
	if c.reads == nil {
		return nil
	}
	c.reads.mu.Lock()
	defer c.reads.mu.Unlock()
	out := make([]FileInput, 0, len(c.reads.files))
	for p, d := range c.reads.files {
		out = append(out, FileInput{Path: p, Digest: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// AttributeRange returns the range of the argument name in the block of
// addr ("name = value", the whole line's expression), for diagnostics that
// providers raise about one argument. ok is false when the block does not
// set it.
func (c *Config) AttributeRange(addr addrs.Resource, name string) (hcl.Range, bool) {
	r := c.Resources[addr]
	if r == nil || r.content == nil {
		return hcl.Range{}, false
	}
	a := r.content.attrs[name]
	if a == nil {
		return hcl.Range{}, false
	}
	return a.Range, true
}
