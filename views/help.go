package views

import (
	"fmt"
	"io"
	"strings"
)

// CommandSummary is one line of mlops -help: a command and its synopsis.
type CommandSummary struct {
	Name     string
	Synopsis string
}

// RenderHelp prints mlops -help: the main commands, the others, and the
// global options.
func RenderHelp(w io.Writer, main, other []CommandSummary) {
	fmt.Fprintln(w, "Usage: mlops [-chdir=DIR] <command> [options]")
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "mlops describes an ML development machine in the cloud, and the software on")
	fmt.Fprintln(w, "it, in HCL files, and makes reality match them.")
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Main commands:")
	for _, c := range main {
		fmt.Fprintf(w, "  %-13s %s\n", c.Name, c.Synopsis)
	}
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Other commands:")
	for _, c := range other {
		fmt.Fprintf(w, "  %-13s %s\n", c.Name, c.Synopsis)
	}
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Global options:")
	fmt.Fprintln(w, "  -chdir=DIR    Use the configuration in DIR (all its *.hcl files).")
	fmt.Fprintln(w, "  -help         Show this help, or a command's help after its name.")
	fmt.Fprintln(w, "  -version      Print the version.")
}

// RenderVersion prints "mlops vX.Y.Z".
func RenderVersion(w io.Writer, version string) {
	fmt.Fprintf(w, "mlops v%s\n", strings.TrimPrefix(version, "v"))
}

// RenderUnknown heads the help printed after an unknown global flag or
// command: "Error: <problem>" and a blank line.
func RenderUnknown(w io.Writer, problem string) {
	fmt.Fprintf(w, "Error: %s\n\n", problem)
}

// RenderNote prints one notice as a line of its own (on stderr): what the
// interrupt handling says (a SIGTERM, the first Ctrl-C in the two-stage
// mode, the second Ctrl-C) and the SSH transport's waits.
func RenderNote(w io.Writer, msg string) {
	fmt.Fprintln(w, msg)
}

// RenderUnlockAtExit reports a state lock that the forced exit could not
// release: err, or no answer within the budget when err is nil.
func RenderUnlockAtExit(w io.Writer, err error) {
	if err != nil {
		fmt.Fprintf(w, "Error releasing the state lock: %v\n", err)
		return
	}
	fmt.Fprintln(w, "Error releasing the state lock: no answer; the lock may remain (mlops force-unlock removes it).")
}
