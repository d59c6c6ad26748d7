package layers_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/internal/shellword"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// TestZoomcampOverSSH converges the course's machine on a sandbox host (a
// Debian chroot behind OpenSSH, see internal/testworld) through the real SSH
// transport: apt-get reaches Debian's mirror, docker.io is really installed,
// the downloads come from the loopback stand-in server. It takes about a
// minute, most of it apt.
func TestZoomcampOverSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("installs Debian packages on a sandbox host (about a minute)")
	}
	h := testworld.StartHost(t)
	d := testworld.StartDownloads(t)
	ctx := context.Background()

	hs := host.New(host.Options{
		LoopbackOnly: true,
		Dial:         loopbackDial(t),
		NewSession:   layers.NewSession,
		LayerSchemas: layers.Schemas,
		Log:          t.Logf,
	})
	s, diags := hs.Open(ctx, providers.SSHTarget{
		Host: h.Addr, Port: h.Port, User: h.User, PrivateKeyFile: h.KeyFile, Timeout: 30 * time.Second,
	}, h.HostKey)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer s.Close()

	ls := zoomcamp(t, hs.LayerSchemas(), d)
	probe := func() []providers.LayerStatus {
		t.Helper()
		resp := s.Probe(ctx, providers.ProbeRequest{Layers: ls})
		if resp.Diagnostics.HasErrors() {
			t.Fatal(resp.Diagnostics)
		}
		return resp.Statuses
	}
	statuses := probe()
	// sshd logs a login through its monitor process, a little after the
	// client sees it; by the end of a probe's round trip it is written.
	before := h.Connections()
	reasons := map[string][]string{}
	for _, st := range statuses {
		if st.Satisfied {
			t.Errorf("%s satisfied on a fresh host", st.Addr)
		}
		reasons[st.Addr.Name] = st.Reasons
	}
	want := map[string][]string{
		"tools":       {"package make not installed", "package jq not installed"},
		"anaconda":    {"anaconda not installed at ~/anaconda3"},
		"docker":      {"package docker.io not installed", "user ubuntu not in group docker"},
		"compose":     {"~/soft/docker-compose missing", "PATH line missing in ~/.bashrc"},
		"env":         {"~/.config/mlops/env missing"},
		"daemon_json": {"/etc/docker/daemon.json missing"},
		"groups_ok":   {"check failed (exit 1)"},
	}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("reasons on a fresh host (-want +got):\n%s", diff)
	}

	out := &lines{m: map[string][]string{}}
	var done []string
	resp := s.Converge(ctx, providers.ConvergeRequest{
		Layers: ls,
		Output: out.add,
		Done:   func(l addrs.Layer) { done = append(done, l.Name) },
	})
	if resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Converge failed at %v: %v", resp.Failed, resp.Diagnostics)
	}
	if diff := cmp.Diff([]string{"tools", "anaconda", "docker", "compose", "env", "daemon_json", "groups_ok"}, done); diff != "" {
		t.Errorf("Done (-want +got):\n%s", diff)
	}
	if n := connectionsSince(h, before, 1); n != 1 {
		t.Errorf("%d new SSH connections during converge, want 1 (the reconnect after the docker layer)", n)
	}
	for _, st := range probe() {
		if !st.Satisfied {
			t.Errorf("%s not satisfied after converge: %v", st.Addr, st.Reasons)
		}
	}

	// The host is as the course's manual steps leave it.
	for cmd, want := range map[string]string{
		`id -nG ubuntu`:   "ubuntu docker",
		`cat ~/groups-ok`: "ubuntu docker", // what the layer after docker saw in its own login
		`bash -ic 'docker-compose --version' 2>/dev/null`:           "Docker Compose version v2.5.0",
		`grep -c 'mlops: docker_compose PATH' ~/.bashrc`:            "1",
		`~/anaconda3/bin/conda --version`:                           "conda 4.12.0",
		`bash -ic 'conda --version' 2>/dev/null`:                    "conda 4.12.0",
		`docker run --rm hello-world`:                               "Hello from Docker!",
		`docker-compose --version`:                                  "Docker Compose version v2.5.0",
		`stat -c %a ~/.config/mlops/env && cat ~/.config/mlops/env`: "644\nMLFLOW_TRACKING_URI=http://localhost:5000",
		`make --version | head -n 1 | cut -d' ' -f1-2`:              "GNU Make",
		`docker --version | cut -d' ' -f1-2`:                        "Docker version",
	} {
		if got := strings.TrimSpace(h.Exec(t, "su - ubuntu -c "+shellQuote(cmd))); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	if got := h.Exec(t, `stat -c '%U %a' /etc/docker/daemon.json; cat /etc/docker/daemon.json`); got != "root 600\n{\"log-driver\": \"local\"}\n" {
		t.Errorf("/etc/docker/daemon.json: %q", got)
	}
	if !strings.Contains(strings.Join(out.m["tools"], "\n"), "Setting up make") {
		t.Errorf("apt output was not streamed:\n%s", strings.Join(out.m["tools"], "\n"))
	}

	// A second converge does nothing, downloads nothing, needs no reconnect.
	hits := d.TotalHits()
	before = h.Connections()
	out = &lines{m: map[string][]string{}}
	resp = s.Converge(ctx, providers.ConvergeRequest{Layers: ls, Output: out.add})
	if resp.Failed != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("second Converge failed at %v: %v", resp.Failed, resp.Diagnostics)
	}
	for _, l := range ls {
		if got := strings.Join(out.m[l.Addr.Name], "\n"); got != "already in place, nothing to do" {
			t.Errorf("second converge, %s: %q", l.Addr.Name, got)
		}
	}
	if n := connectionsSince(h, before, 0); d.TotalHits() != hits || n != 0 {
		t.Errorf("second converge: %d downloads, %d connections; want none", d.TotalHits()-hits, n)
	}
}

// zoomcamp is the course's layer list, built against the transport's schemas
// the way the config loader does (defaults for unset attributes).
func zoomcamp(t *testing.T, schemas map[string]*schema.Layer, d *testworld.Downloads) []providers.Layer {
	t.Helper()
	web := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "web"}
	mk := func(name, kind string, set map[string]cty.Value) providers.Layer {
		ls, ok := schemas[kind]
		if !ok {
			t.Fatalf("no schema for layer kind %q", kind)
		}
		vals := map[string]cty.Value{}
		for n, a := range ls.Attributes {
			switch v, ok := set[n]; {
			case ok:
				vals[n] = v
			case a.Default != cty.NilVal:
				vals[n] = a.Default
			default:
				vals[n] = cty.NullVal(a.Type)
			}
		}
		cfg := cty.ObjectVal(vals)
		return providers.Layer{Addr: addrs.Layer{Resource: web, Name: name}, Kind: kind, Config: cfg, Digest: providers.LayerDigest(kind, cfg)}
	}
	str := cty.StringVal
	return []providers.Layer{
		mk("tools", "apt", map[string]cty.Value{"update": cty.True, "packages": cty.ListVal([]cty.Value{str("make"), str("jq")})}),
		mk("anaconda", "anaconda", map[string]cty.Value{
			"installer": str(d.URL(testworld.DownloadAnaconda)), "sha256": str(d.SHA256(testworld.DownloadAnaconda)),
		}),
		mk("docker", "docker", map[string]cty.Value{"users": cty.ListVal([]cty.Value{str("ubuntu")})}),
		mk("compose", "docker_compose", map[string]cty.Value{
			"version": str("v2.5.0"), "url": str(d.URL(testworld.DownloadCompose)), "sha256": str(d.SHA256(testworld.DownloadCompose)),
		}),
		mk("env", "file", map[string]cty.Value{
			"destination": str("~/.config/mlops/env"), "content": str("MLFLOW_TRACKING_URI=http://localhost:5000\n"),
		}),
		// Outside the SSH user's reach: written and read with sudo.
		mk("daemon_json", "file", map[string]cty.Value{
			"destination": str("/etc/docker/daemon.json"), "content": str("{\"log-driver\": \"local\"}\n"), "mode": str("0600"),
		}),
		// Runs in the login after the docker layer: its own groups must include docker.
		mk("groups_ok", "shell", map[string]cty.Value{
			"check": str(`id -nG | grep -qw docker && grep -qw docker ~/groups-ok`),
			"run":   str(`id -nG >~/groups-ok`),
		}),
	}
}

// connectionsSince returns how many logins the host's sshd logged after
// before, giving a late log line up to two seconds to reach want.
func connectionsSince(h *testworld.Host, before, want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for h.Connections()-before < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return h.Connections() - before
}

type lines struct {
	mu sync.Mutex
	m  map[string][]string
}

func (l *lines) add(a addrs.Layer, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[a.Name] = append(l.m[a.Name], line)
}

var shellQuote = shellword.Quote

// loopbackDial dials only 127.0.0.0/8.
func loopbackDial(t *testing.T) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(h); err != nil || ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
			t.Errorf("dial %s %s: outside 127.0.0.0/8", network, addr)
			return nil, errors.New("test: refusing a non-loopback dial")
		}
		var dialer net.Dialer
		return dialer.DialContext(ctx, network, addr)
	}
}
