package state

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestS3ResponseTimeout: with the SDK's own client (no injected one), an S3
// endpoint that accepts connections and never answers fails the read after
// the response timeout instead of holding the run; AWS_CA_BUNDLE still
// works with that client.
func TestS3ResponseTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	}
	s, err := OpenS3(context.Background(), S3Options{Bucket: "b", Key: "k", Region: "eu-west-1",
		Endpoint: "http://" + ln.Addr().String(), ResponseTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenS3: %v", err)
	}
	start := time.Now()
	_, err = s.Read(context.Background())
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Read took %v", el)
	}
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Read = %v, want a timeout", err)
	}
}
