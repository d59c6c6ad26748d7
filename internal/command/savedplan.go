package command

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/mlops-dev/mlops/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/state"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// lockFileName is the dependency lock file of a configuration directory; a
// saved plan records its digest whether or not it exists.
const lockFileName = "mlops.lock.hcl"

// fileDigest is "sha256:HEX" of a file's content, "" when it cannot be read
// (missing). A directory or other non-regular file counts as missing.
func fileDigest(path string) string {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func bytesDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// configFileNames lists the *.hcl files that config.Load reads in dir, by
// name, sorted.
func configFileNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasPrefix(n, ".") {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// planInputs records what a plan was made from: the configuration files as
// loaded, the -var-files, the files file() read, the lock file (or its
// absence) and where each variable's value came from.
func planInputs(dir string, cfg *config.Config, varFiles []string) *plan.Inputs {
	in := &plan.Inputs{VariableSources: map[string]string{}}
	for _, name := range configFileNames(dir) {
		path := filepath.Join(dir, name)
		d := fileDigest(path)
		if src, ok := cfg.Sources[path]; ok {
			d = bytesDigest(src)
		}
		in.Files = append(in.Files, plan.InputFile{Kind: plan.InputConfig, Path: name, Digest: d})
	}
	for _, path := range varFiles {
		d := fileDigest(path)
		if src, ok := cfg.Sources[path]; ok {
			d = bytesDigest(src)
		}
		in.Files = append(in.Files, plan.InputFile{Kind: plan.InputVarFile, Path: path, Digest: d})
	}
	for _, f := range cfg.FilesRead() {
		in.Files = append(in.Files, plan.InputFile{Kind: plan.InputFileFn, Path: f.Path, Digest: f.Digest})
	}
	in.Files = append(in.Files, plan.InputFile{Kind: plan.InputLock, Path: lockFileName, Digest: fileDigest(filepath.Join(dir, lockFileName))})
	for name, v := range cfg.Variables {
		in.VariableSources[name] = v.Source
	}
	return in
}

// checkSavedInputs compares the files a saved plan was made from with the
// files on disk now, before the configuration is loaded.
func checkSavedInputs(dir string, saved *plan.Plan) []string {
	return saved.Inputs.CompareFiles(func(f plan.InputFile) string {
		path := f.Path
		if f.Kind == plan.InputConfig || f.Kind == plan.InputLock {
			path = filepath.Join(dir, path)
		}
		return fileDigest(path)
	}, configFileNames(dir))
}

// savedVariableArgs decides how the configuration is loaded for applying a
// saved plan: values that came from the configuration's defaults, from the
// recorded var files or from the environment (when still set) are resolved
// again, so that checkSavedVariables can tell when one moved; the others
// (-var, or an environment variable no longer set) are given from the plan.
func savedVariableArgs(saved *plan.Plan, env []string) (vars, varFiles []string) {
	inEnv := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "MLOPS_VAR_"); ok {
			inEnv[name] = true
		}
	}
	names := make([]string, 0, len(saved.Variables))
	for n := range saved.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		src := saved.Inputs.VariableSources[name]
		switch {
		case src == config.SourceDefault, strings.HasPrefix(src, config.SourceVarFile):
			continue
		case src == config.SourceEnv && inEnv[name]:
			continue
		}
		vars = append(vars, name+"="+hclLiteral(saved.Variables[name]))
	}
	return vars, saved.Inputs.VarFiles()
}

// checkSavedConfig compares the configuration loaded for applying a saved
// plan with the plan: every variable must have the value the plan holds
// (named, never shown: it may be sensitive), and file() must read no file
// the plan did not record.
func checkSavedConfig(cfg *config.Config, saved *plan.Plan) []string {
	var out []string
	names := make([]string, 0, len(cfg.Variables))
	for n := range cfg.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := cfg.Variables[name]
		sv, ok := saved.Variables[name]
		if !ok {
			out = append(out, fmt.Sprintf("variable %q is not in the saved plan", name))
			continue
		}
		now, _ := v.Value.UnmarkDeep()
		was, _ := sv.UnmarkDeep()
		if now.RawEquals(was) {
			continue
		}
		src := saved.Inputs.VariableSources[name]
		if src == "" {
			src = "its source"
		}
		if v.Source != "" && v.Source != src {
			out = append(out, fmt.Sprintf("variable %q: the saved plan's value came from %s; %s gives another now", name, src, v.Source))
			continue
		}
		out = append(out, fmt.Sprintf("variable %q: the saved plan holds another value than %s gives now", name, src))
	}
	recorded := saved.Inputs.FileFnPaths()
	for _, f := range cfg.FilesRead() {
		if !recorded[f.Path] {
			out = append(out, fmt.Sprintf("file() now reads %s, which the saved plan did not", f.Path))
		}
	}
	return out
}

// writePlanFile writes a saved plan atomically with mode 0600: it holds the
// variables' values, so it is never left readable by others, not even for
// a moment, and an existing 0644 file is replaced, not reused.
func writePlanFile(path string, b []byte) error { return atomicfile.Write(path, b, 0o600) }

// maskResourceJSON replaces the sensitive attributes of a state resource by
// plan.SensitiveValue, for show -json. Attributes that do not decode with
// the schema are left as they are (there is nothing sensitive recorded for
// them then, or the state is not ours to judge).
func maskResourceJSON(w *world, r *state.Resource) {
	if len(r.Sensitive) == 0 {
		return
	}
	m := w.schemas.Resources
	if r.Mode == state.ModeData {
		m = w.schemas.DataSources
	}
	rs := m[r.Type]
	if rs == nil {
		return
	}
	v, err := ctyjson.Unmarshal(r.Attributes, rs.ImpliedType())
	if err != nil {
		return
	}
	v = plan.MaskSensitive(v, r.Sensitive)
	if b, err := ctyjson.Marshal(v, v.Type()); err == nil {
		r.Attributes = b
	}
}
