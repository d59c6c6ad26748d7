package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// testSchemas is a small world of types shaped like the real providers'.
func testSchemas() schema.Schemas {
	str := func(req bool) *schema.Attribute {
		return &schema.Attribute{Type: cty.String, Required: req, Optional: !req}
	}
	computed := func(ty cty.Type) *schema.Attribute { return &schema.Attribute{Type: ty, Computed: true} }
	return schema.Schemas{
		Provider: map[string]*schema.Block{
			"aws": {Attributes: map[string]*schema.Attribute{
				"region":   str(false),
				"profile":  str(false),
				"endpoint": str(false),
			}},
		},
		Resources: map[string]*schema.Resource{
			"aws_instance": {
				IDAttr: "id",
				SSH:    true,
				Block: schema.Block{Attributes: map[string]*schema.Attribute{
					"ami":             {Type: cty.String, Required: true, ForceNew: true},
					"instance_type":   {Type: cty.String, Optional: true, Default: cty.StringVal("t3.micro")},
					"key_pair":        str(false),
					"security_groups": {Type: cty.List(cty.String), Optional: true},
					"disk_gb":         {Type: cty.Number, Optional: true, Default: cty.NumberIntVal(8), Validate: positive},
					"tags":            {Type: cty.Map(cty.String), Optional: true},
					"id":              computed(cty.String),
					"public_ip":       computed(cty.String),
					"private_ip":      computed(cty.String),
				}},
			},
			"aws_key_pair": {
				IDAttr: "id",
				Block: schema.Block{Attributes: map[string]*schema.Attribute{
					"name":             str(true),
					"private_key_file": str(false),
					"id":               computed(cty.String),
					"fingerprint":      computed(cty.String),
				}},
			},
			"aws_security_group": {
				IDAttr: "id",
				Block: schema.Block{
					Attributes: map[string]*schema.Attribute{
						"name":        str(true),
						"description": {Type: cty.String, Optional: true, Default: cty.StringVal("Managed by mlops")},
						"id":          computed(cty.String),
					},
					BlockTypes: map[string]*schema.NestedBlock{
						"ingress": {Nesting: schema.NestingList, Block: schema.Block{Attributes: map[string]*schema.Attribute{
							"port":        {Type: cty.Number, Required: true, Validate: validPort},
							"cidr_blocks": {Type: cty.List(cty.String), Optional: true, Validate: validCIDRs},
						}}},
					},
				},
			},
			"host": {
				SSH: true,
				Block: schema.Block{Attributes: map[string]*schema.Attribute{
					"labels": {Type: cty.Map(cty.String), Optional: true},
				}},
			},
		},
		DataSources: map[string]*schema.Resource{
			"aws_ami": {
				IDAttr: "id",
				Block: schema.Block{Attributes: map[string]*schema.Attribute{
					"owners":       {Type: cty.List(cty.String), Required: true},
					"name":         str(true),
					"id":           computed(cty.String),
					"architecture": computed(cty.String),
				}},
			},
		},
		Layers: map[string]*schema.Layer{
			"apt": {Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"update":   {Type: cty.Bool, Optional: true, Default: cty.False},
				"packages": {Type: cty.List(cty.String), Optional: true},
			}}},
			"docker": {Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"users":   {Type: cty.List(cty.String), Optional: true},
				"version": str(false),
			}}},
			"shell": {Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"check": str(true),
				"run":   str(true),
			}}},
			"file": {Block: schema.Block{Attributes: map[string]*schema.Attribute{
				"path":    str(true),
				"content": str(false),
				"mode":    {Type: cty.String, Optional: true, Default: cty.StringVal("0644")},
			}}},
		},
	}
}

func positive(v cty.Value) error {
	if v.LessThanOrEqualTo(cty.Zero).True() {
		return errors.New("must be greater than zero")
	}
	return nil
}

func validPort(v cty.Value) error {
	if v.LessThan(cty.NumberIntVal(1)).True() || v.GreaterThan(cty.NumberIntVal(65535)).True() {
		return errors.New("a port is a number from 1 to 65535")
	}
	return nil
}

func validCIDRs(v cty.Value) error {
	for i, e := range v.AsValueSlice() {
		if _, err := netip.ParsePrefix(e.AsString()); err != nil {
			return fmt.Errorf("element %d: %q is not a CIDR block like 10.0.0.0/16", i, e.AsString())
		}
	}
	return nil
}

// testOpts are LoadOptions with the test schemas and a fixed HOME.
func testOpts() LoadOptions {
	return LoadOptions{Schemas: testSchemas(), Env: []string{"HOME=/home/me"}}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// loadSrc loads one file named main.hcl.
func loadSrc(t *testing.T, src string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	t.Helper()
	return LoadFiles("/cfg", map[string][]byte{"main.hcl": []byte(src)}, opts)
}

// mustLoad loads one file and fails the test on any diagnostic.
func mustLoad(t *testing.T, src string, opts LoadOptions) *Config {
	t.Helper()
	c, diags := loadSrc(t, src, opts)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", renderDiags(diags))
	}
	return c
}

// diagLines renders diagnostics as "file:line: Summary" (or "-: Summary"
// without a subject), the form the tables compare.
func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Subject == nil {
			out = append(out, "-: "+d.Summary)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary))
	}
	return out
}

func renderDiags(diags hcl.Diagnostics) string {
	s := ""
	for _, d := range diags {
		s += d.Error() + "\n"
	}
	return s
}

func managed(typ, name string) addrs.Resource {
	return addrs.Resource{Mode: addrs.Managed, Type: typ, Name: name}
}

func data(typ, name string) addrs.Resource {
	return addrs.Resource{Mode: addrs.Data, Type: typ, Name: name}
}

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}
