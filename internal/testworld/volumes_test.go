package testworld

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// ec2Call posts one EC2 query action with params and returns the answer.
func ec2Call(t *testing.T, endpoint string, params ...string) string {
	t.Helper()
	form := url.Values{"Version": {"2016-11-15"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	req, err := http.NewRequest("POST", endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/"+MotoRegion+"/ec2/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := NewCountingClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s\n%s", form.Get("Action"), resp.Status, b)
	}
	return string(b)
}

// TestVolumesBecomeDevices: a volume attached through the proxy is a block
// device of the instance's host under its Nitro name, grows with
// ModifyVolume, keeps its bytes across hosts, and goes away with its
// instance; no loop device is left behind.
func TestVolumesBecomeDevices(t *testing.T) {
	hosts := StartHosts(t, 2)
	m := SharedMoto(t)
	m.Reset(t)
	v := StartVolumes(t, m.Endpoint())
	run := func(params ...string) string { return ec2Call(t, v.URL(), params...) }
	instance := func() string {
		out := run("Action", "RunInstances", "ImageId", "ami-0a1b2c3d4e5f60718", "MinCount", "1", "MaxCount", "1", "InstanceType", "t3.micro")
		return xmlValue([]byte(out), []byte("<instanceId>"))
	}
	vol := xmlValue([]byte(run("Action", "CreateVolume", "AvailabilityZone", MotoRegion+"a", "Size", "1")), volumeIDInResponse)
	link := "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.Replace(vol, "-", "", 1)

	v.PlaceOn(hosts[0])
	i1 := instance()
	run("Action", "AttachVolume", "VolumeId", vol, "InstanceId", i1, "Device", "/dev/sdf")
	if h, dev := v.Device(vol); h != hosts[0] || dev != "/dev/nvme1n1" {
		t.Fatalf("attached to %v as %q", h, dev)
	}
	if got := hosts[0].Exec(t, "readlink -f "+link+" && blockdev --getsize64 /dev/nvme1n1"); got != "/dev/nvme1n1\n1073741824\n" {
		t.Fatalf("device on host 0: %q", got)
	}
	hosts[0].Exec(t, "printf kept | dd of=/dev/nvme1n1 bs=4 count=1 conv=notrunc 2>/dev/null; sync")
	run("Action", "ModifyVolume", "VolumeId", vol, "Size", "2")
	if got := hosts[0].Exec(t, "blockdev --getsize64 /dev/nvme1n1"); got != "2147483648\n" {
		t.Fatalf("size after ModifyVolume: %q", got)
	}

	// Its instance terminates: the host loses the device; a new instance
	// on the other host gets the same bytes.
	run("Action", "TerminateInstances", "InstanceId.1", i1)
	if h, _ := v.Device(vol); h != nil {
		t.Fatalf("still attached after TerminateInstances")
	}
	if _, err := os.Lstat(hosts[0].Root + link); !os.IsNotExist(err) {
		t.Fatalf("the link is still on host 0: %v", err)
	}
	v.PlaceOn(hosts[1])
	i2 := instance()
	run("Action", "AttachVolume", "VolumeId", vol, "InstanceId", i2, "Device", "/dev/sdf")
	if got := hosts[1].Exec(t, "head -c 4 "+link); got != "kept" {
		t.Fatalf("bytes on host 1: %q", got)
	}
	run("Action", "DetachVolume", "VolumeId", vol, "InstanceId", i2)
	if _, err := os.Lstat(hosts[1].Root + "/dev/nvme1n1"); !os.IsNotExist(err) {
		t.Fatalf("the node is still on host 1: %v", err)
	}
	run("Action", "DeleteVolume", "VolumeId", vol)
	if _, err := os.Stat(v.backing(vol)); !os.IsNotExist(err) {
		t.Fatalf("the backing file is left: %v", err)
	}
}
