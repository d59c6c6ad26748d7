package addrs

import "testing"

func TestParseResource(t *testing.T) {
	tests := []struct {
		in      string
		want    Resource
		wantErr bool
	}{
		{in: "aws_instance.web", want: Resource{Mode: Managed, Type: "aws_instance", Name: "web"}},
		{in: "data.aws_ami.ubuntu", want: Resource{Mode: Data, Type: "aws_ami", Name: "ubuntu"}},
		{in: "aws_instance", wantErr: true},
		{in: "data.aws_ami", wantErr: true},
		{in: "a.b.c", wantErr: true},
		{in: "aws_instance.1x", wantErr: true},
		{in: "aws_instance.x;rm", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseResource(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseResource(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (got != tt.want || got.String() != tt.in) {
			t.Errorf("ParseResource(%q) = %v (%s)", tt.in, got, got)
		}
	}
}

func TestParseLayer(t *testing.T) {
	l, err := ParseLayer("aws_instance.web.layer.docker")
	if err != nil || l.Name != "docker" || l.Resource.String() != "aws_instance.web" || l.String() != "aws_instance.web.layer.docker" {
		t.Fatalf("ParseLayer = %v, %v", l, err)
	}
	if _, err := ParseLayer("aws_instance.web"); err == nil {
		t.Fatal("want error for address without layer")
	}
}
