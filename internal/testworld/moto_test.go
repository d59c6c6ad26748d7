package testworld

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMotoStartsAndCounts(t *testing.T) {
	m := StartMoto(t)
	m.Reset(t)
	c := NewCountingClient()
	form := url.Values{"Action": {"DescribeImages"}, "Version": {"2016-11-15"}, "Owner.1": {"099720109477"}}
	req, err := http.NewRequest("POST", m.Endpoint()+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/"+MotoRegion+"/ec2/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ubuntu-jammy-22.04-amd64-server-20240301") {
		t.Fatalf("DescribeImages: %s\n%s", resp.Status, body)
	}
	if got := c.Count("DescribeImages"); got != 1 {
		t.Errorf("Count(DescribeImages) = %d, want 1 (%s)", got, c)
	}
}

func TestCountingClientRefusesNonLoopback(t *testing.T) {
	c := NewCountingClient()
	for _, u := range []string{"http://169.254.169.254/latest/api/token", "https://ec2.eu-west-1.amazonaws.com/"} {
		req, _ := http.NewRequest("PUT", u, nil)
		if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Do(%s) err = %v, want refusal", u, err)
		}
	}
	if c.Total() != 0 {
		t.Errorf("refused requests were counted: %s", c)
	}
}
