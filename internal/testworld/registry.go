package testworld

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// helloSource is the program of the test world's hello-world image.
//
//go:embed testdata/hello/main.go
var helloSource []byte

// Registry is a Docker registry (the read side of the Registry HTTP API v2)
// on 127.0.0.1 that stands in for Docker Hub: it serves one image,
// library/hello-world:latest, whose only file is /hello, a static program of
// ours that prints a greeting. Each sandbox host's dockerd uses it as its
// registry mirror, so `docker run hello-world` pulls from it as a real
// machine pulls from Docker Hub, and nothing leaves the machine.
type Registry struct {
	url  string // http://127.0.0.1:PORT
	srv  *http.Server
	done chan struct{}

	mu    sync.Mutex
	pulls int // downloads of the image's layer

	closeOnce sync.Once
}

// startRegistry starts a registry on a free port of 127.0.0.1.
func startRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the image registry: %v", err)
	}
	r := &Registry{url: "http://" + ln.Addr().String(), done: make(chan struct{})}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// URL is the registry's address, such as http://127.0.0.1:PORT.
func (r *Registry) URL() string { return r.url }

// Pulls counts the downloads of the image's layer so far: one per pull
// into a daemon that lacks the image.
func (r *Registry) Pulls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls
}

// Close stops the registry. It is safe to call more than once.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		r.srv.Close()
		<-r.done
	})
}

const helloRepo = "/v2/library/hello-world/"

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "this registry is read-only")
		return
	}
	if req.URL.Path == "/v2/" || req.URL.Path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
		return
	}
	rest, ok := strings.CutPrefix(req.URL.Path, helloRepo)
	if !ok {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "this registry serves library/hello-world only")
		return
	}
	img, err := helloImage()
	if err != nil {
		registryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	switch {
	case rest == "manifests/latest" || rest == "manifests/"+img.manifestDigest:
		serveBlob(w, req, manifestType, img.manifestDigest, img.manifest)
	case strings.HasPrefix(rest, "manifests/"):
		registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "only hello-world:latest exists here")
	case rest == "blobs/"+img.configDigest:
		serveBlob(w, req, "application/octet-stream", img.configDigest, img.config)
	case rest == "blobs/"+img.layerDigest:
		if req.Method == http.MethodGet {
			r.mu.Lock()
			r.pulls++
			r.mu.Unlock()
		}
		serveBlob(w, req, "application/octet-stream", img.layerDigest, img.layer)
	default:
		registryError(w, http.StatusNotFound, "BLOB_UNKNOWN", "no such blob")
	}
}

func serveBlob(w http.ResponseWriter, req *http.Request, contentType, digest string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Docker-Content-Digest", digest)
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(b))
}

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

const manifestType = "application/vnd.docker.distribution.manifest.v2+json"

// image is the hello-world image as the registry serves it.
type image struct {
	manifest, config, layer                   []byte
	manifestDigest, configDigest, layerDigest string
}

var (
	helloOnce sync.Once
	helloImg  *image
	helloErr  error
)

// helloImage builds the hello-world image once per process: the program
// with the Go toolchain (`go build`, static), then its layer, config and
// manifest. It is built when a host first pulls it, so tests that never
// run Docker never build it.
func helloImage() (*image, error) {
	helloOnce.Do(func() { helloImg, helloErr = buildHelloImage() })
	return helloImg, helloErr
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func buildHelloImage() (*image, error) {
	bin, err := buildHello()
	if err != nil {
		return nil, err
	}
	// The layer: a tar holding /hello, gzipped. Fixed times keep the
	// digests the same from run to run.
	epoch := time.Unix(0, 0).UTC()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(bin)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	tw.Write(bin)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gzBuf bytes.Buffer
	gw := gzip.NewWriter(&gzBuf)
	gw.Write(tarBuf.Bytes())
	if err := gw.Close(); err != nil {
		return nil, err
	}
	img := &image{layer: gzBuf.Bytes()}
	img.layerDigest = digestOf(img.layer)
	img.config, err = json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config":       map[string]any{"Cmd": []string{"/hello"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digestOf(tarBuf.Bytes())}},
		"history":      []map[string]string{{"created": epoch.Format(time.RFC3339), "created_by": "mlops testworld: COPY hello /hello"}},
	})
	if err != nil {
		return nil, err
	}
	img.configDigest = digestOf(img.config)
	img.manifest, err = json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     manifestType,
		"config": map[string]any{
			"mediaType": "application/vnd.docker.container.image.v1+json",
			"size":      len(img.config), "digest": img.configDigest,
		},
		"layers": []map[string]any{{
			"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
			"size":      len(img.layer), "digest": img.layerDigest,
		}},
	})
	if err != nil {
		return nil, err
	}
	img.manifestDigest = digestOf(img.manifest)
	return img, nil
}

// buildHello compiles helloSource into a static binary for this machine
// (the sandbox hosts run on its kernel) and returns it.
func buildHello() ([]byte, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("building the hello-world image needs the Go toolchain on PATH")
	}
	dir, err := os.MkdirTemp("", "mlops-hello-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), helloSource, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(goTool, "build", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of the hello-world image: %v\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "hello"))
}
