package testworld

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Volumes makes the EBS volumes moto keeps as records into block devices
// of the sandbox hosts. It is an HTTP proxy to moto for the EC2 API (point
// AWS_ENDPOINT_URL at URL): every request is forwarded, and after moto
// carried out one of these, the hosts change as an instance would see it:
//
//   - AttachVolume: the volume's backing file (one sparse file per volume
//     ID, kept across hosts) gets a loop device, exposed inside the host of
//     the instance as /dev/nvmeNn1 with the symlink Nitro instances have,
//     /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<ID without dash>;
//   - DetachVolume, and TerminateInstances for the volumes of the terminated
//     instances (moto detaches them without a DetachVolume): the file
//     system is unmounted inside the host, the device node and the loop
//     device go;
//   - ModifyVolume: the backing file grows and the loop device follows
//     (losetup -c), so the host sees the new size;
//   - DeleteVolume: the backing file goes.
//
// Which host an instance runs on is the test's choice: the instances first
// seen after PlaceOn(h) run on h (a replacement gets a new host this way).
// When the test ends, every loop device is detached.
type Volumes struct {
	t      testing.TB
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	dir    string // backing files, vol-....img

	mu        sync.Mutex
	next      *Host
	hosts     map[string]*Host     // instance ID -> host
	attached  map[string]*attached // volume ID -> where it is attached
	sizes     map[string]int64     // volume ID -> GiB, from CreateVolume and ModifyVolume
	nvmeIndex map[*Host]int        // the last nvme number used on a host
}

type attached struct {
	instance string
	host     *Host
	loop     string // /dev/loopN on this machine
	node     string // /dev/nvmeNn1 inside the host
}

// StartVolumes starts the proxy to moto's endpoint for one test.
func StartVolumes(t testing.TB, target string) *Volumes {
	t.Helper()
	requireSandbox(t)
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := motoCheckLoopback(u); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v := &Volumes{t: t, target: u, ln: ln, dir: t.TempDir(), hosts: map[string]*Host{},
		attached: map[string]*attached{}, sizes: map[string]int64{}, nvmeIndex: map[*Host]int{}}
	v.srv = &http.Server{Handler: v}
	go v.srv.Serve(ln)
	t.Cleanup(v.close)
	return v
}

// URL is the proxy's endpoint.
func (v *Volumes) URL() string { return "http://" + v.ln.Addr().String() }

// PlaceOn makes the instances that are not placed yet run on h.
func (v *Volumes) PlaceOn(h *Host) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next = h
}

// Device returns the host a volume is attached to and its device node
// there, or nil.
func (v *Volumes) Device(volumeID string) (*Host, string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if a := v.attached[volumeID]; a != nil {
		return a.host, a.node
	}
	return nil, ""
}

func (v *Volumes) close() {
	v.srv.Close()
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, a := range v.attached {
		if err := v.unbindLocked(a); err != nil {
			v.t.Logf("testworld: volumes: detaching %s at the end: %v", id, err)
		}
		delete(v.attached, id)
	}
}

// ServeHTTP forwards the request to moto, then acts on the hosts.
func (v *Volumes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, v.target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, "testworld: volumes: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "testworld: volumes: "+err.Error(), http.StatusBadGateway)
		return
	}
	if resp.StatusCode == http.StatusOK {
		if form, err := url.ParseQuery(string(body)); err == nil {
			if err := v.act(form, respBody); err != nil {
				// The test fails; mlops gets an error too, as it would
				// from an instance that cannot see its disk.
				v.t.Errorf("testworld: volumes: %s: %v", form.Get("Action"), err)
				http.Error(w, "testworld: volumes: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
	}
	for k, vs := range resp.Header {
		for _, x := range vs {
			w.Header().Add(k, x)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

var volumeIDInResponse = []byte("<volumeId>")

func (v *Volumes) act(form url.Values, resp []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch form.Get("Action") {
	case "CreateVolume":
		if id := xmlValue(resp, volumeIDInResponse); id != "" {
			size, _ := strconv.ParseInt(form.Get("Size"), 10, 64)
			v.sizes[id] = size
		}
	case "AttachVolume":
		return v.attachLocked(form.Get("VolumeId"), form.Get("InstanceId"))
	case "DetachVolume":
		if a := v.attached[form.Get("VolumeId")]; a != nil {
			delete(v.attached, form.Get("VolumeId"))
			return v.unbindLocked(a)
		}
	case "TerminateInstances":
		for k, vals := range form {
			if !strings.HasPrefix(k, "InstanceId.") {
				continue
			}
			for id, a := range v.attached {
				if a.instance == vals[0] {
					delete(v.attached, id)
					if err := v.unbindLocked(a); err != nil {
						return err
					}
				}
			}
		}
	case "ModifyVolume":
		id := form.Get("VolumeId")
		size, err := strconv.ParseInt(form.Get("Size"), 10, 64)
		if err != nil || size <= v.sizes[id] {
			return nil
		}
		v.sizes[id] = size
		if err := os.Truncate(v.backing(id), size<<30); err != nil {
			return err
		}
		if a := v.attached[id]; a != nil {
			return runCmd("losetup", "-c", a.loop)
		}
	case "DeleteVolume":
		id := form.Get("VolumeId")
		delete(v.sizes, id)
		os.Remove(v.backing(id))
	}
	return nil
}

func (v *Volumes) backing(id string) string { return filepath.Join(v.dir, id+".img") }

// attachLocked binds the volume's backing file into the instance's host.
func (v *Volumes) attachLocked(volID, instID string) error {
	if !strings.HasPrefix(volID, "vol-") || strings.ContainsAny(volID, "/.") {
		return fmt.Errorf("odd volume ID %q", volID)
	}
	h := v.hosts[instID]
	if h == nil {
		if v.next == nil {
			return fmt.Errorf("instance %s has no sandbox host: call PlaceOn first", instID)
		}
		h = v.next
		v.hosts[instID] = h
	}
	file := v.backing(volID)
	if _, err := os.Stat(file); os.IsNotExist(err) {
		size := v.sizes[volID]
		if size <= 0 {
			size = 1
		}
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		if err := os.Truncate(file, size<<30); err != nil {
			return err
		}
	}
	out, err := exec.Command("losetup", "-f", "--show", file).Output()
	if err != nil {
		return fmt.Errorf("losetup %s: %w", file, err)
	}
	loop := strings.TrimSpace(string(out))
	minor, err := strconv.Atoi(strings.TrimPrefix(loop, "/dev/loop"))
	if err != nil {
		runCmd("losetup", "-d", loop)
		return fmt.Errorf("losetup gave %q", loop)
	}
	v.nvmeIndex[h]++
	name := fmt.Sprintf("nvme%dn1", v.nvmeIndex[h])
	a := &attached{instance: instID, host: h, loop: loop, node: "/dev/" + name}
	node := filepath.Join(h.Root, "dev", name)
	link := filepath.Join(h.Root, "dev/disk/by-id", "nvme-Amazon_Elastic_Block_Store_"+strings.Replace(volID, "-", "", 1))
	os.Remove(node)
	os.Remove(link)
	if err := runCmd("mknod", "-m", "0660", node, "b", "7", strconv.Itoa(minor)); err != nil {
		runCmd("losetup", "-d", loop)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("../../"+name, link); err != nil {
		return err
	}
	v.attached[volID] = a
	return nil
}

// unbindLocked undoes attachLocked: what the host mounted from the device
// is unmounted first, as the instance's end would.
func (v *Volumes) unbindLocked(a *attached) error {
	var errs []string
	// A host that is stopped took its mounts with it: nothing to unmount.
	a.host.Shell(fmt.Sprintf(`sync; for m in $(awk -v d=%s '$1 == d {print $2}' /proc/mounts 2>/dev/null); do umount "$m" || umount -l "$m"; done`, a.node))
	entries, _ := filepath.Glob(filepath.Join(a.host.Root, "dev/disk/by-id", "nvme-Amazon_Elastic_Block_Store_*"))
	for _, e := range entries {
		if target, err := os.Readlink(e); err == nil && filepath.Base(target) == filepath.Base(a.node) {
			os.Remove(e)
		}
	}
	os.Remove(filepath.Join(a.host.Root, a.node))
	// A lazily unmounted file system may hold the loop device a moment.
	var err error
	for i := 0; i < 50; i++ {
		if err = runCmd("losetup", "-d", a.loop); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("detaching %s from %s: %s", a.loop, a.host.Addr, strings.Join(errs, "; "))
	}
	return nil
}

// xmlValue returns the text after the first tag in an EC2 XML answer.
func xmlValue(b, tag []byte) string {
	i := bytes.Index(b, tag)
	if i < 0 {
		return ""
	}
	rest := b[i+len(tag):]
	j := bytes.IndexByte(rest, '<')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func runCmd(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
