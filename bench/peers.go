package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/internal/testworld"
)

// scenarioPeers compares mlops with Ansible, pyinfra and OpenTofu doing the
// same work on the same sandbox hosts. It is not part of "all": it installs
// the peers (a venv, an OpenTofu build) and takes about half an hour. It
// writes bench/results/PEERS.md, peers.json and peers.png, never RESULTS.md.
const scenarioPeers = "peers"

// settle waits, at most 5 s, until the machine is 80% idle over half a
// second: the tools take turns, and one tool's aftermath (sshd sessions
// closing on ten hosts, Ansible's worker processes exiting) must not land
// in the next tool's run.
func settle() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if idle, ok := idleOver(500 * time.Millisecond); !ok || idle >= 0.8 {
			return
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// firstRunChanges says what a peer's first apply changed on hosts that
// mlops had converged: the changed tasks or operations by name, with the
// number of hosts.
func firstRunChanges(tool string, r toolRun) string {
	var names []string
	counts := map[string]int{}
	add := func(name string, n int) {
		if counts[name] == 0 {
			names = append(names, name)
		}
		counts[name] += n
	}
	switch tool {
	case "Ansible":
		task := ""
		for _, line := range strings.Split(r.stdout, "\n") {
			if t, ok := strings.CutPrefix(line, "TASK ["); ok {
				task, _, _ = strings.Cut(t, "]")
			} else if strings.HasPrefix(line, "changed: ") {
				add(task, 1)
			}
		}
	case "pyinfra":
		var rep struct {
			Results struct {
				Operations []struct {
					Name    string   `json:"name"`
					Success []string `json:"success"`
				} `json:"operations"`
			} `json:"results"`
		}
		json.Unmarshal([]byte(r.stdout), &rep)
		for _, op := range rep.Results.Operations {
			if len(op.Success) > 0 {
				add(op.Name, len(op.Success))
			}
		}
	case "OpenTofu":
		return "created its terraform_data resources (its state) and ran its script once on each host; the script found every step done"
	}
	if len(names) == 0 {
		return "nothing"
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%q on %d host(s)", n, counts[n]))
	}
	return strings.Join(parts, ", ")
}

// aptMirror is a loopback HTTP server holding a flat apt repository: the
// .deb files of the packages the layers install, with everything they pull
// in, and python3-apt (Ansible's apt module needs it; Ubuntu's cloud images
// have it). They are downloaded from Debian once per bench run, on a
// scratch host; from then on every tool's apt-get update and install talk
// to this server only, so no run reaches past 127.0.0.0/8 and the mirror's
// speed on the day decides nothing.
type aptMirror struct {
	dir string // the repository: *.deb, Packages, Release
	url string // http://127.0.0.1:PORT/
}

func startAptMirror(w *world) (*aptMirror, error) {
	m := &aptMirror{dir: filepath.Join(w.tmp, "apt-mirror")}
	hosts, stop, err := testworld.StartHostsForDemo(1, nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox hosts (they need root): %v", err)
	}
	defer stop()
	start := time.Now()
	if _, err := hosts[0].Shell(`set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -qq -y --download-only git make wget docker.io python3-apt >/dev/null
apt-get install -qq -y apt-utils >/dev/null  # apt-ftparchive, after the download: not in the repository
cd /var/cache/apt/archives
apt-ftparchive packages . >Packages
apt-ftparchive release . >Release`); err != nil {
		return nil, fmt.Errorf("building the apt repository: %v", err)
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(hosts[0].Root, "var/cache/apt/archives/*.deb"))
	for _, f := range append(files, filepath.Join(hosts[0].Root, "var/cache/apt/archives/Packages"), filepath.Join(hosts[0].Root, "var/cache/apt/archives/Release")) {
		if err := copyFile(filepath.Join(m.dir, filepath.Base(f)), f); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(m.dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	w.stops = append(w.stops, func() { srv.Close() })
	m.url = "http://" + l.Addr().String() + "/"
	w.logf("peers: apt repository of %d packages on %s, built in %v", len(files), m.url, time.Since(start).Round(time.Second))
	return m, nil
}

// prepareHost makes a fresh sandbox host what every tool starts from: apt
// pointed at the loopback repository with empty package lists whose
// directory is two days old (so that every tool's converge runs apt-get
// update: mlops whenever the apt layer runs, Ansible and pyinfra when
// their cache is older than a day), and python3-apt installed.
func prepareHost(h *testworld.Host, m *aptMirror) error {
	tmp := filepath.Join(h.Root, "tmp", "seed")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, pattern := range []string{"distro-info-data_*.deb", "python-apt-common_*.deb", "python3-apt_*.deb"} {
		debs, _ := filepath.Glob(filepath.Join(m.dir, pattern))
		if len(debs) != 1 {
			return fmt.Errorf("the apt repository has %d files %s, want 1", len(debs), pattern)
		}
		if err := copyFile(filepath.Join(tmp, filepath.Base(debs[0])), debs[0]); err != nil {
			return err
		}
	}
	_, err := h.Shell(`set -e
dpkg -i /tmp/seed/*.deb >/dev/null
rm -rf /tmp/seed /etc/apt/sources.list.d/*
echo 'deb [trusted=yes] ` + m.url + ` ./' >/etc/apt/sources.list
find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete
rm -f /var/lib/apt/periodic/update-success-stamp
touch -d '2 days ago' /var/lib/apt/lists`)
	if err != nil {
		return fmt.Errorf("preparing host %s: %v", h.Addr, err)
	}
	return nil
}

// writesResults reports whether a run of these scenarios writes
// RESULTS.md: the opt-in ones write files of their own and leave it alone.
func writesResults(scenarios []string) bool {
	for _, s := range scenarios {
		if contains(allScenarios, s) {
			return true
		}
	}
	return false
}
