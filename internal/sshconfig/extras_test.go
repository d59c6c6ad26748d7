package sshconfig

import (
	"os"
	"strings"
	"testing"
)

// TestForwardsAndProxyCommand: LocalForward and ProxyCommand lines are
// written (a % doubled, as ssh expands %-tokens), and a hostile forward
// host is refused.
func TestForwardsAndProxyCommand(t *testing.T) {
	f := Files{Home: t.TempDir()}
	e := Entry{Alias: "box", Address: "aws_instance.box", HostName: "127.0.0.5", User: "ubuntu",
		LocalForwards: []LocalForward{{LocalPort: 8888, Host: "localhost", Port: 8888}, {LocalPort: 15000, Host: "localhost", Port: 5000}},
		ProxyCommand:  "'/opt/my 100%/mlops' -chdir='/src/stack' ssh -stdio box"}
	if _, err := f.Sync("stack-1", []Entry{e}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  LocalForward 127.0.0.1:8888 localhost:8888\n",
		"  LocalForward 127.0.0.1:15000 localhost:5000\n",
		"  ProxyCommand '/opt/my 100%%/mlops' -chdir='/src/stack' ssh -stdio box\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("mlops_config lacks %q:\n%s", want, b)
		}
	}
	// Unchanged entries are not rewritten.
	res, err := f.Sync("stack-1", []Entry{e})
	if err != nil || res.Changes[0].Action != Unchanged {
		t.Errorf("second sync: %+v %v", res, err)
	}
	bad := e
	bad.LocalForwards = []LocalForward{{LocalPort: 1, Host: "-oProxyCommand=sh", Port: 2}}
	if err := bad.Check(); err == nil {
		t.Error("a forward host starting with a dash was accepted")
	}
	bad = e
	bad.ProxyCommand = "mlops\nHost *"
	if err := bad.Check(); err == nil {
		t.Error("a proxy command with a line break was accepted")
	}
}
