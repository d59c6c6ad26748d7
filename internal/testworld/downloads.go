package testworld

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The names the download server serves, relative to its base URL.
const (
	// DownloadAnaconda is a stand-in Anaconda installer that honours
	// -b -p PREFIX (and -u) and installs PREFIX/bin/conda, which prints
	// "conda 4.12.0", and PREFIX/bin/python.
	DownloadAnaconda = "Anaconda3-2022.05-Linux-x86_64.sh"
	// DownloadCompose is a stand-in docker-compose v2.5.0 binary: a shell
	// script printing "Docker Compose version v2.5.0".
	DownloadCompose = "docker-compose-linux-x86_64"
	// DownloadCompose1 is a stand-in docker-compose 1.29.2 binary, printing
	// "docker-compose version 1.29.2, build 5becea4c".
	DownloadCompose1 = "v1.29.2/docker-compose"
)

// downloadFiles are the stand-in files, kept in testdata so that their
// checksums are stable across runs and machines.
//
//go:embed testdata/downloads
var downloadFiles embed.FS

// Downloads is an HTTP server on 127.0.0.1 standing in for the internet
// downloads of the layers (the Anaconda installer, docker-compose). Sandbox
// hosts share this machine's network, so they reach it at URL(name). It
// counts the requests for each file, so tests can tell whether a converge
// downloaded anything.
type Downloads struct {
	base  string // http://127.0.0.1:PORT/
	srv   *http.Server
	files map[string][]byte
	done  chan struct{}

	mu    sync.Mutex
	hits  map[string]int // path without the leading slash -> requests
	total int

	closeOnce sync.Once
}

// StartDownloads starts a download server on a free port of 127.0.0.1 and
// stops it when the test ends.
func StartDownloads(t testing.TB) *Downloads {
	t.Helper()
	d, err := StartDownloadsServer("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// StartDownloadsServer starts a download server on addr ("host:port"; ""
// means 127.0.0.1 on a free port) for use outside tests, such as a demo. The
// host must be a loopback address. Close stops it.
func StartDownloadsServer(addr string) (*Downloads, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("download server address %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("download server address %q: the host must be a loopback IP address such as 127.0.0.1", addr)
	}
	files, err := loadDownloadFiles()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting the download server: %v", err)
	}
	d := &Downloads{
		base:  "http://" + ln.Addr().String() + "/",
		files: files,
		hits:  map[string]int{},
		done:  make(chan struct{}),
	}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.done)
		_ = d.srv.Serve(ln)
	}()
	return d, nil
}

func loadDownloadFiles() (map[string][]byte, error) {
	const root = "testdata/downloads"
	files := map[string][]byte{}
	err := fs.WalkDir(downloadFiles, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := downloadFiles.ReadFile(p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, root+"/")] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the stand-in downloads: %v", err)
	}
	return files, nil
}

func (d *Downloads) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	d.mu.Lock()
	d.hits[name]++
	d.total++
	b, ok := d.files[name] // under mu: Serve may replace it
	d.mu.Unlock()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// URL returns the address of a served file, such as
// http://127.0.0.1:PORT/docker-compose-linux-x86_64. An unknown name gets a
// URL too, which answers 404.
func (d *Downloads) URL(name string) string { return d.base + strings.TrimPrefix(name, "/") }

// BaseURL is the server's root, ending in a slash.
func (d *Downloads) BaseURL() string { return d.base }

// SHA256 returns the hex SHA-256 of a served file. It panics on a name the
// server does not serve: that is a mistake in the test.
func (d *Downloads) SHA256(name string) string {
	d.mu.Lock()
	b, ok := d.files[strings.TrimPrefix(name, "/")]
	d.mu.Unlock()
	if !ok {
		panic(fmt.Sprintf("testworld: the download server has no file %q (it has %s)", name, strings.Join(d.Names(), ", ")))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Content returns the bytes of a served file (nil for an unknown name).
func (d *Downloads) Content(name string) []byte {
	return bytes.Clone(d.files[strings.TrimPrefix(name, "/")])
}

// Names lists the served files, sorted.
func (d *Downloads) Names() []string {
	names := make([]string, 0, len(d.files))
	for n := range d.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Hits returns how many requests asked for name so far.
func (d *Downloads) Hits(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits[strings.TrimPrefix(name, "/")]
}

// TotalHits returns how many requests the server received so far, for any path.
func (d *Downloads) TotalHits() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// Close stops the server. It is safe to call more than once.
func (d *Downloads) Close() error {
	var err error
	d.closeOnce.Do(func() {
		err = d.srv.Close()
		<-d.done
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	})
	return err
}

// Serve makes the server answer name with content from now on, as a
// download site whose file changed under the same URL.
func (d *Downloads) Serve(name string, content []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files[strings.TrimPrefix(name, "/")] = bytes.Clone(content)
}
