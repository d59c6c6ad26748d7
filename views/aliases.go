package views

import "fmt"

// AliasLine is one line about the ssh aliases mlops keeps in
// ~/.ssh/mlops_config: Level is "info" or "warn".
type AliasLine struct {
	Level   string
	Message string
}

// SSHAliases reports what apply and destroy did with the ssh aliases.
type SSHAliases interface {
	// Warnings are problems that left aliases unwritten.
	Warnings(msgs []string)
	// Changes are the aliases added, updated, removed, kept or refused,
	// and the Include line added to ~/.ssh/config.
	Changes(lines []AliasLine)
}

// NewSSHAliases returns the JSON view, one ssh_alias event per line, when
// events is not nil; else the human one.
func NewSSHAliases(s *Streams, events *JSONHooks) SSHAliases {
	if events != nil {
		return jsonAliases{events}
	}
	return humanAliases{s}
}

// humanAliases prints warnings to stderr and changes to stdout, after a
// blank line that sets them apart from the apply summary.
type humanAliases struct{ streams *Streams }

func (v humanAliases) warn(msg string) {
	fmt.Fprintf(v.streams.Err, "%s %s\n", v.streams.Colorize("33;1", "Warning:"), msg)
}

func (v humanAliases) Warnings(msgs []string) {
	for _, m := range msgs {
		v.warn(m)
	}
}

func (v humanAliases) Changes(lines []AliasLine) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(v.streams.Out)
	for _, l := range lines {
		if l.Level == "warn" {
			v.warn(l.Message)
			continue
		}
		fmt.Fprintln(v.streams.Out, l.Message)
	}
}

type jsonAliases struct{ events *JSONHooks }

func (v jsonAliases) Warnings(msgs []string) {
	for _, m := range msgs {
		v.events.Emit(Event{Type: "ssh_alias", Level: "warn", Message: m})
	}
}

func (v jsonAliases) Changes(lines []AliasLine) {
	for _, l := range lines {
		v.events.Emit(Event{Type: "ssh_alias", Level: l.Level, Message: l.Message})
	}
}
