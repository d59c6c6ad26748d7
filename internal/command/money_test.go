package command

import (
	"strings"
	"testing"
)

// TestParseSSHForwardAndStdio: -forward and -stdio go before the host or,
// alone, after it ("mlops ssh ALIAS -forward"); anything else after the
// host stays the remote command.
func TestParseSSHForwardAndStdio(t *testing.T) {
	tests := []struct {
		args           []string
		forward, stdio bool
		command        []string
		wantErr        string
	}{
		{args: []string{"box", "-forward"}, forward: true},
		{args: []string{"-forward", "box"}, forward: true},
		{args: []string{"box", "--stdio"}, stdio: true},
		{args: []string{"-stdio", "box"}, stdio: true},
		{args: []string{"box", "forward"}, command: []string{"forward"}},
		{args: []string{"box", "--", "-forward"}, command: []string{"-forward"}},
		{args: []string{"box", "ls", "-forward"}, command: []string{"ls", "-forward"}},
		{args: []string{"-forward", "box", "ls"}, wantErr: "-forward and -stdio take no command"},
	}
	for _, tt := range tests {
		d, _, errb := testDeps(t, t.TempDir())
		o, ok := parseSSHFlags(d, tt.args)
		if tt.wantErr != "" {
			if ok || !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("%v: want error %q, got %v %s", tt.args, tt.wantErr, ok, errb)
			}
			continue
		}
		if !ok || o.target != "box" || o.forward != tt.forward || o.stdio != tt.stdio || strings.Join(o.command, " ") != strings.Join(tt.command, " ") {
			t.Errorf("%v: got %+v (ok %v) %s", tt.args, o, ok, errb)
		}
	}
}
