package views

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
)

// TestSSHNotices pins mlops ssh's own lines (waking, host key, failures,
// forwards) and the state migration notice.
func TestSSHNotices(t *testing.T) {
	var out, errb bytes.Buffer
	n := NewSSHNotices(&Streams{Out: &out, Err: &errb})
	dev := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "dev"}
	n.Waking(dev)
	n.WakeProgress(dev, "starting i-0abc")
	n.HostKeyAccepted(dev, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample")
	n.ExecFailed(errors.New("connection lost"), false)
	n.ExecFailed(errors.New("connection lost"), true)
	n.Forward("jupyter", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8888}, "localhost:8888", dev)
	n.ForwardFailed("jupyter", errors.New("connection refused"))
	n.Forwarding()
	RenderStateMigrated(&errb, false, ".mlops/state.json", "s3://b/k", ".mlops/state.json.migrated")
	RenderStateMigrated(&errb, true, ".mlops/state.json", "s3://b/k", ".mlops/state.json.migrated")
	golden(t, filepath.Join("testdata", "operation", "ssh.txt"), "--- stdout\n"+out.String()+"--- stderr\n"+errb.String())
}
