package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

type fileInputFile struct {
	Kind   string `json:"kind"`
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

type fileInputs struct {
	Files           []fileInputFile   `json:"files"`
	VariableSources map[string]string `json:"variable_sources,omitempty"`
}

func encodeInputs(in *Inputs) *fileInputs {
	if in == nil {
		return nil
	}
	out := &fileInputs{VariableSources: in.VariableSources}
	for _, f := range in.Files {
		out.Files = append(out.Files, fileInputFile(f))
	}
	return out
}

func decodeInputs(in *fileInputs) *Inputs {
	if in == nil {
		return nil
	}
	out := &Inputs{VariableSources: in.VariableSources}
	for _, f := range in.Files {
		out.Files = append(out.Files, InputFile(f))
	}
	return out
}

// contentDigest is the SHA-256 of the compact JSON encoding of f without
// its digest. Go encodes struct fields in declaration order and map keys
// sorted, so the same content always gives the same digest, however the
// file is indented. The digest catches edits to a plan file (a variable
// value, an output); it is not a signature: whoever can write the file can
// recompute it, which is why apply also compares the plan with a fresh one.
func contentDigest(f planFile) (string, error) {
	f.Digest = ""
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func checkDigest(f planFile) error {
	want, err := contentDigest(f)
	if err != nil {
		return fmt.Errorf("saved plan: %w", err)
	}
	if f.Digest != want {
		return fmt.Errorf("the plan file was modified after mlops wrote it (its content digest does not match); run mlops plan -out again")
	}
	return nil
}
