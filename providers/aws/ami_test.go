package aws

import (
	"strings"
	"testing"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

func readAMI(w *world, attrs map[string]cty.Value) providers.ReadDataSourceResponse {
	addr := addrs.Resource{Mode: addrs.Data, Type: "aws_ami", Name: "ubuntu"}
	return w.p.ReadDataSource(w.ctx, providers.ReadDataSourceRequest{Addr: addr, Config: configOf(&amiSchema().Block, attrs)})
}

func TestAMINewestMatch(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name      string
		attrs     map[string]cty.Value
		wantID    string
		wantName  string
		wantError string
	}{
		{
			name:     "canonical newest",
			attrs:    map[string]cty.Value{"owners": stringList([]string{canonical}), "name": cty.StringVal(jammyPattern)},
			wantID:   jammyNewest,
			wantName: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240301",
		},
		{
			// Without owners, the newer look-alike of another account wins:
			// owners matter.
			name:   "any owner",
			attrs:  map[string]cty.Value{"name": cty.StringVal(jammyPattern)},
			wantID: otherOwnerAMI,
		},
		{
			name:   "exact name",
			attrs:  map[string]cty.Value{"owners": stringList([]string{canonical}), "name": cty.StringVal("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20230919")},
			wantID: jammyOlder,
		},
		{
			name:      "no match",
			attrs:     map[string]cty.Value{"owners": stringList([]string{canonical}), "name": cty.StringVal("ubuntu/images/hvm-ssd/ubuntu-noble-*")},
			wantError: `No available image named "ubuntu/images/hvm-ssd/ubuntu-noble-*" (from owners 099720109477)`,
		},
		{
			name: "several without most_recent",
			attrs: map[string]cty.Value{"owners": stringList([]string{canonical}), "name": cty.StringVal(jammyPattern),
				"most_recent": cty.False},
			wantError: "2 images named",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.counts.Reset()
			resp := readAMI(w, tt.attrs)
			if got := w.counts.Count("DescribeImages"); got != 1 {
				t.Errorf("DescribeImages calls = %d, want 1 (%s)", got, w.counts)
			}
			if tt.wantError != "" {
				if !resp.Diagnostics.HasErrors() || !strings.Contains(diagText(resp.Diagnostics), tt.wantError) {
					t.Fatalf("diagnostics = %s, want one containing %q", diagText(resp.Diagnostics), tt.wantError)
				}
				return
			}
			noErrors(t, resp.Diagnostics)
			checkConforms(t, addrs.Resource{Mode: addrs.Data, Type: "aws_ami"}, resp.State)
			if got := getString(resp.State, "id"); got != tt.wantID {
				t.Errorf("id = %s, want %s", got, tt.wantID)
			}
			if tt.wantName != "" {
				if got := getString(resp.State, "image_name"); got != tt.wantName {
					t.Errorf("image_name = %s, want %s", got, tt.wantName)
				}
				if got := getString(resp.State, "name"); got != getString(configOf(&amiSchema().Block, tt.attrs), "name") {
					t.Errorf("name = %s, want the configured pattern", got)
				}
				if got := getString(resp.State, "architecture"); got != "x86_64" {
					t.Errorf("architecture = %s", got)
				}
				if got := getString(resp.State, "creation_date"); !strings.HasPrefix(got, "2024-03-01") {
					t.Errorf("creation_date = %s", got)
				}
			}
		})
	}
}
