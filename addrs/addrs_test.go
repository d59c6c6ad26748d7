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

func TestParseInstanceAddresses(t *testing.T) {
	box := Resource{Mode: Managed, Type: "aws_instance", Name: "box"}
	tests := []struct {
		in, canon string
		want      Resource
		wantErr   bool
	}{
		{in: `aws_instance.box["alice"]`, want: box.Instance(StringKey("alice"))},
		{in: `aws_instance.box[0]`, want: box.Instance(IntKey(0))},
		{in: `aws_instance.box[12]`, want: box.Instance(IntKey(12))},
		{in: `aws_instance.box["a.b[c]"]`, want: box.Instance(StringKey("a.b[c]"))},
		{in: `aws_instance.box["al\u0069ce"]`, canon: `aws_instance.box["alice"]`, want: box.Instance(StringKey("alice"))},
		{in: `aws_instance.box["say \"hi\""]`, want: box.Instance(StringKey(`say "hi"`))},
		{in: `data.aws_ami.u[1]`, want: Resource{Mode: Data, Type: "aws_ami", Name: "u", Key: IntKey(1)}},
		{in: `aws_instance.box[]`, wantErr: true},
		{in: `aws_instance.box[-1]`, wantErr: true},
		{in: `aws_instance.box[01]`, wantErr: true},
		{in: `aws_instance.box[alice]`, wantErr: true},
		{in: `aws_instance.box["alice"`, wantErr: true},
		{in: `aws_instance.box["alice"]x`, wantErr: true},
		{in: `aws_instance["alice"]`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseResource(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseResource(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if got != tt.want || got.String() != canon {
			t.Errorf("ParseResource(%q) = %#v (%s)", tt.in, got, got)
		}
		if got.NoKey() != tt.want.NoKey() || got.NoKey().Key != NoKey {
			t.Errorf("NoKey of %s = %s", got, got.NoKey())
		}
	}
	l, err := ParseLayer(`aws_instance.box["x.layer.y"].layer.docker`)
	if err != nil || l.Name != "docker" || l.Resource != box.Instance(StringKey("x.layer.y")) {
		t.Errorf("ParseLayer with a key = %v, %v", l, err)
	}
	for _, k := range []InstanceKey{IntKey(3), StringKey("bob"), StringKey("")} {
		b, err := k.MarshalJSON()
		var back InstanceKey
		if err != nil || back.UnmarshalJSON(b) != nil || back != k {
			t.Errorf("JSON round trip of %s: %s -> %s (%v)", k, b, back, err)
		}
	}
	if v := StringKey("bob").Value(); v.AsString() != "bob" {
		t.Errorf("Value = %#v", v)
	}
}
