package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/mlops-dev/mlops/views"
)

// command is one subcommand.
type command struct {
	synopsis string
	usage    string
	run      func(d Deps, g globals, args []string) int
}

// globals are the flags given before the subcommand.
type globals struct {
	chdir string
}

func commands() map[string]command {
	return map[string]command{
		"plan":         {"Show what apply would change", planUsage, runPlan},
		"apply":        {"Create or update the machine and its software", applyUsage, runApply},
		"destroy":      {"Destroy everything the state records", destroyUsage, runDestroy},
		"validate":     {"Check the configuration (offline)", validateUsage, runValidate},
		"fmt":          {"Rewrite configuration files in canonical style", fmtUsage, runFmt},
		"output":       {"Show output values", outputUsage, runOutput},
		"show":         {"Show the state or a saved plan", showUsage, runShow},
		"state":        {"Inspect and edit the state (list, show, rm, pull, push)", stateUsage, runState},
		"import":       {"Adopt an existing object into the state", importUsage, runImport},
		"force-unlock": {"Release a stuck state lock", forceUnlockUsage, runForceUnlock},
		"ssh":          {"Open a shell or run a command on a host (by ssh alias or address)", sshUsage, runSSH},
		"status":       {"Show every machine: state, address, cost since start, idle agent", statusUsage, runStatus},
		"version":      {"Print the mlops version", "Usage: mlops version", runVersion},
	}
}

// Main runs mlops with args (without the program name) and returns the exit
// code: 0 success, 1 error, 2 "changes present" for -detailed-exitcode.
func Main(args []string, d Deps) int {
	if d.getenv("MLOPS_TEST_LOOPBACK_ONLY") == "1" {
		// The test harness's guard: AWS traffic only to 127.0.0.0/8, and
		// never the instance metadata service (whose SDK client does not
		// use the injected HTTP client).
		if d.HTTPClient == nil {
			d.HTTPClient = loopbackOnlyClient()
		}
		d.Env = append(append([]string{}, d.Env...), "AWS_EC2_METADATA_DISABLED=true")
		os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	}
	if d.HTTPClient != nil && d.getenv("MLOPS_TEST_LOOPBACK_ONLY") == "1" {
		// The loopback guard's client gets the timeouts the SDK's own
		// client gets otherwise (aws.Options, state.S3Options).
		d.HTTPClient = withTimeouts(d.HTTPClient, responseTimeout(d))
	}
	// One interrupt context for the whole run: every command and every
	// wait (configuration files, locks, S3, SSH, probes, the approval
	// prompt) ends on Ctrl-C or SIGTERM.
	d.intr = newInterrupts(d.Interrupts, d.Streams.Err, d.exit)
	defer d.intr.close()
	var g globals
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := strings.TrimLeft(args[0], "-")
		switch {
		case a == "help" || a == "h":
			printHelp(d.Streams.Out)
			return 0
		case a == "version" || a == "v":
			return runVersion(d, g, nil)
		case strings.HasPrefix(a, "chdir="):
			g.chdir = strings.TrimPrefix(a, "chdir=")
		case a == "chdir" && len(args) > 1:
			g.chdir = args[1]
			args = args[1:]
		default:
			views.RenderUnknown(d.Streams.Err, "unknown global flag "+args[0])
			printHelp(d.Streams.Err)
			return 1
		}
		args = args[1:]
	}
	if len(args) == 0 {
		printHelp(d.Streams.Out)
		return 1
	}
	name := args[0]
	cmds := commands()
	c, ok := cmds[name]
	if !ok {
		views.RenderUnknown(d.Streams.Err, fmt.Sprintf("unknown command %q.%s", name, suggest(name, keys(cmds))))
		printHelp(d.Streams.Err)
		return 1
	}
	for _, a := range args[1:] {
		if a == "-help" || a == "--help" || a == "-h" {
			views.RenderUsageError(d.Streams.Out, "", c.usage)
			return 0
		}
	}
	return c.run(d, g, args[1:])
}

func keys(m map[string]command) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func suggest(name string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		if d := levenshtein.Distance(name, o, nil); d < bestD {
			best, bestD = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func printHelp(w io.Writer) {
	cmds := commands()
	var main, other []views.CommandSummary
	for _, n := range []string{"plan", "apply", "destroy", "validate"} {
		main = append(main, views.CommandSummary{Name: n, Synopsis: cmds[n].synopsis})
	}
	for _, n := range keys(cmds) {
		switch n {
		case "plan", "apply", "destroy", "validate":
			continue
		}
		other = append(other, views.CommandSummary{Name: n, Synopsis: cmds[n].synopsis})
	}
	views.RenderHelp(w, main, other)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// newFlags returns a flag set that reports errors to the streams instead of
// exiting. Go's flag package accepts -flag and --flag alike.
func newFlags(d Deps, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses and reports a usage error; ok is false on error.
func parseFlags(d Deps, fs *flag.FlagSet, usage string, args []string) bool {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			views.RenderUsageError(d.Streams.Out, "", usage)
			return false
		}
		views.RenderUsageError(d.Streams.Err, err.Error(), usage)
		return false
	}
	return true
}

// configDir resolves the configuration directory from -chdir.
func configDir(d Deps, g globals, chdir string) string {
	dir := g.chdir
	if chdir != "" {
		dir = chdir
	}
	if dir == "" {
		return d.Cwd
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(d.Cwd, dir)
	}
	return dir
}

func runVersion(d Deps, _ globals, _ []string) int {
	views.RenderVersion(d.Streams.Out, Version)
	return 0
}
