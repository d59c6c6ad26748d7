package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  string
		diags []string
	}{
		{
			name: "aligns and indents",
			src: `resource "aws_key_pair" "k" {
name = "k"
    private_key_file   =   "~/.ssh/k.pem"
  tags = {Name="x"}
}
`,
			want: `resource "aws_key_pair" "k" {
  name             = "k"
  private_key_file = "~/.ssh/k.pem"
  tags             = { Name = "x" }
}
`,
		},
		{
			name: "canonical input is unchanged",
			src:  "variable \"region\" {\n  default = \"eu-west-1\"\n}\n",
			want: "variable \"region\" {\n  default = \"eu-west-1\"\n}\n",
		},
		{
			name:  "syntax error returns the source unchanged",
			src:   "resource \"x\" {\n  a = = 1\n}\n",
			want:  "resource \"x\" {\n  a = = 1\n}\n",
			diags: []string{"main.hcl:2: Invalid expression"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := Format("main.hcl", []byte(tt.src))
			if d := cmp.Diff(tt.want, string(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.diags, diagLines(diags)); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}
