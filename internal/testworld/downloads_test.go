package testworld

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
)

// noProxy is a client that never goes through a proxy from the environment.
var noProxy = &http.Client{Transport: &http.Transport{Proxy: nil}}

func TestDownloadsServesStandIns(t *testing.T) {
	d := StartDownloads(t)
	for _, name := range []string{DownloadAnaconda, DownloadCompose, DownloadCompose1} {
		resp, err := noProxy.Get(d.URL(name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", name, resp.StatusCode, err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != d.SHA256(name) {
			t.Errorf("%s: served sha256 %s, SHA256() says %s", name, got, d.SHA256(name))
		}
		if d.Hits(name) != 1 {
			t.Errorf("%s: Hits = %d, want 1", name, d.Hits(name))
		}
	}
	resp, err := noProxy.Get(d.URL("nope"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET nope: %d, want 404", resp.StatusCode)
	}
	if d.TotalHits() != 4 {
		t.Errorf("TotalHits = %d, want 4", d.TotalHits())
	}
}

func TestDownloadsServerRefusesNonLoopback(t *testing.T) {
	if _, err := StartDownloadsServer("0.0.0.0:0"); err == nil {
		t.Fatal("StartDownloadsServer(0.0.0.0:0) succeeded, want an error")
	}
	d, err := StartDownloadsServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
