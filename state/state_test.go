package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mlops-dev/mlops/addrs"
)

// sample returns a state that uses every field.
func sample() *State {
	s := New("0f8c6a1e-3b7d-4c2a-9e51-6d0b2f4a8c31")
	s.Serial = 7
	s.MlopsVersion = "0.1.0"
	s.SetResource(&Resource{
		Mode: ModeManaged, Type: "aws_instance", Name: "web",
		ID:           "i-0123456789abcdef0",
		Attributes:   json.RawMessage(`{"ami":"ami-1","tags":{"Name":"web"}}`),
		Dependencies: []string{"aws_security_group.ssh", "data.aws_ami.ubuntu"},
		HostKey:      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1xZmFrZWtleWZvcnRlc3Rz",
		Layers: []*Layer{
			{Name: "docker", Kind: "apt", Digest: "sha256:aa", Config: json.RawMessage(`{"packages":["docker.io"]}`),
				AppliedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			{Name: "conda", Kind: "script", Digest: "sha256:bb", AppliedAt: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)},
		},
	})
	s.SetResource(&Resource{Mode: ModeData, Type: "aws_ami", Name: "ubuntu", ID: "ami-1", Attributes: json.RawMessage(`{"id":"ami-1"}`)})
	s.SetResource(&Resource{Mode: ModeManaged, Type: "aws_security_group", Name: "ssh", Attributes: json.RawMessage(`{}`), Status: StatusTainted})
	s.Outputs = map[string]*Output{
		"ip":       {Value: json.RawMessage(`"203.0.113.7"`), Type: json.RawMessage(`"string"`)},
		"password": {Value: json.RawMessage(`"hunter2"`), Type: json.RawMessage(`"string"`), Sensitive: true},
	}
	return s
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := sample()
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Decode(Encode(s)) differs (-want +got):\n%s", diff)
	}
	again, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(data), string(again)); diff != "" {
		t.Errorf("Encode is not stable (-first +second):\n%s", diff)
	}
}

// TestEncodeGolden pins the file format; run with -update to rewrite.
func TestEncodeGolden(t *testing.T) {
	data, err := sample().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sample.json")
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(data)); diff != "" {
		t.Errorf("Encode output differs from %s (-want +got):\n%s", golden, diff)
	}
}

func TestEncodeSortsWithoutMutating(t *testing.T) {
	s := New("l")
	s.Resources = []*Resource{
		{Address: "b.x", Mode: ModeManaged, Type: "b", Name: "x"},
		{Address: "a.x", Mode: ModeManaged, Type: "a", Name: "x"},
	}
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s.Resources[0].Address != "b.x" {
		t.Error("Encode reordered the caller's slice")
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Resources[0].Address != "a.x" || got.Resources[1].Address != "b.x" {
		t.Errorf("resources not sorted: %s, %s", got.Resources[0].Address, got.Resources[1].Address)
	}
}

func TestDecode(t *testing.T) {
	res := func(addr, mode, typ, name string) string {
		return `{"address":"` + addr + `","mode":"` + mode + `","type":"` + typ + `","name":"` + name + `","attributes":{}}`
	}
	state := func(version, lineage string, resources ...string) string {
		return `{"version":` + version + `,"serial":3,"lineage":"` + lineage + `","resources":[` + strings.Join(resources, ",") + `]}`
	}
	tests := []struct {
		name    string
		in      string
		wantErr string // regexp; "" means success
		check   func(t *testing.T, s *State)
	}{
		{
			name: "good",
			in: state("1", "abc",
				res("data.aws_ami.ubuntu", "data", "aws_ami", "ubuntu"),
				res("aws_instance.web", "managed", "aws_instance", "web")),
			check: func(t *testing.T, s *State) {
				if s.Serial != 3 || s.Lineage != "abc" || len(s.Resources) != 2 {
					t.Errorf("got %+v", s)
				}
				if r := s.Resource("data.aws_ami.ubuntu"); r == nil || r.Addr() != (addrs.Resource{Mode: addrs.Data, Type: "aws_ami", Name: "ubuntu"}) {
					t.Errorf("data resource: %+v", r)
				}
			},
		},
		{
			name:  "no resources",
			in:    `{"version":1,"serial":0,"lineage":"abc"}`,
			check: func(t *testing.T, s *State) { _ = s.Resource("x.y") },
		},
		{
			name: "whitespace in embedded values is normalised",
			in:   `{"version":1,"lineage":"l","resources":[{"address":"a.b","mode":"managed","type":"a","name":"b","attributes":{ "x" : [1, 2] }}]}`,
			check: func(t *testing.T, s *State) {
				if got := string(s.Resources[0].Attributes); got != `{"x":[1,2]}` {
					t.Errorf("attributes = %s", got)
				}
			},
		},
		{name: "empty file", in: ``, wantErr: `^state file is corrupt: `},
		{name: "truncated", in: `{"version":1,"serial":3,"lin`, wantErr: `^state file is corrupt: unexpected end of JSON input`},
		{name: "not an object", in: `[1,2]`, wantErr: `^state file is corrupt: `},
		{name: "wrong field type", in: `{"version":1,"serial":"three","lineage":"l"}`, wantErr: `^state file is corrupt: .*serial`},
		{name: "no version", in: `{"serial":1,"lineage":"l"}`, wantErr: `^state file is corrupt: no format version$`},
		{name: "version zero", in: state("0", "l"), wantErr: `^state file is corrupt: invalid format version 0$`},
		{
			name:    "newer version",
			in:      `{"version":2,"lineage":"l","resources":{"shape":"changed"}}`,
			wantErr: `^state was written by a newer mlops \(format 2\); this mlops understands format 1$`,
		},
		{name: "missing lineage", in: state("1", ""), wantErr: `^state file is corrupt: no lineage$`},
		{
			name:    "unknown mode",
			in:      state("1", "l", res("aws_instance.web", "imported", "aws_instance", "web")),
			wantErr: `^state file is corrupt: resource "aws_instance.web" has unknown mode "imported"$`,
		},
		{
			name:    "address disagrees with type and name",
			in:      state("1", "l", res("aws_instance.web", "managed", "aws_instance", "db")),
			wantErr: `^state file is corrupt: resource address "aws_instance.web" does not match`,
		},
		{
			name:    "data address in managed mode",
			in:      state("1", "l", res("data.aws_ami.u", "managed", "aws_ami", "u")),
			wantErr: `does not match its mode, type and name \(aws_ami.u\)$`,
		},
		{
			name: "duplicate addresses",
			in: state("1", "l",
				res("aws_instance.web", "managed", "aws_instance", "web"),
				res("aws_key_pair.k", "managed", "aws_key_pair", "k"),
				res("aws_instance.web", "managed", "aws_instance", "web")),
			wantErr: `^state file is corrupt: resource "aws_instance.web" appears more than once$`,
		},
		{name: "null resource", in: state("1", "l", "null"), wantErr: `^state file is corrupt: resources\[0\] is null$`},
		{name: "null output", in: `{"version":1,"lineage":"l","outputs":{"ip":null}}`, wantErr: `^state file is corrupt: output "ip" is null$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if tt.check != nil {
					tt.check(t, s)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode succeeded, want error matching %q", tt.wantErr)
			}
			if !regexp.MustCompile(tt.wantErr).MatchString(err.Error()) {
				t.Errorf("Decode error = %q, want match for %q", err, tt.wantErr)
			}
		})
	}
}

func TestSetRemoveResource(t *testing.T) {
	s := New("l")
	for _, a := range []string{"c.c", "a.a", "data.b.b", "b.b"} {
		r := ResourceFor(mustParse(t, a))
		r.Attributes = json.RawMessage(`{}`)
		s.SetResource(r)
	}
	s.SetResource(&Resource{Mode: ModeManaged, Type: "a", Name: "a", ID: "replaced"}) // address filled in
	var got []string
	for _, r := range s.Resources {
		got = append(got, r.Address)
	}
	if diff := cmp.Diff([]string{"a.a", "b.b", "c.c", "data.b.b"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if r := s.Resource("a.a"); r == nil || r.ID != "replaced" {
		t.Errorf("SetResource did not replace: %+v", r)
	}
	if !s.RemoveResource("b.b") || s.RemoveResource("b.b") || s.Resource("b.b") != nil || len(s.Resources) != 3 {
		t.Errorf("RemoveResource: %v", s.Resources)
	}
}

func mustParse(t *testing.T, a string) addrs.Resource {
	t.Helper()
	r, err := addrs.ParseResource(a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeepCopy(t *testing.T) {
	s := sample()
	c := s.DeepCopy()
	if diff := cmp.Diff(s, c); diff != "" {
		t.Fatalf("copy differs (-orig +copy):\n%s", diff)
	}
	// Change everything reachable in the copy; the original must not move.
	r := c.Resource("aws_instance.web")
	r.Attributes[2] = 'X'
	r.Dependencies[0] = "changed"
	r.Layers[0].Name = "changed"
	r.Layers[0].Config[2] = 'X'
	c.Outputs["ip"].Value[1] = 'X'
	c.Outputs["new"] = &Output{}
	c.RemoveResource("data.aws_ami.ubuntu")
	if diff := cmp.Diff(sample(), s); diff != "" {
		t.Errorf("changing the copy changed the original (-want +got):\n%s", diff)
	}
}

func TestNewLineage(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewLineage(), NewLineage()
	if !re.MatchString(a) || a == b {
		t.Errorf("NewLineage() = %q, %q", a, b)
	}
}
