package command

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mlops-dev/mlops/addrs"
)

// flagCase is one row of a command's flag table: the arguments, and either
// the options they parse into or the error they print.
type flagCase[O any] struct {
	name    string
	args    []string
	want    O
	wantErr string
}

// runFlagTable parses every case with parse and compares the options (all
// fields, unexported too) or the error on stderr.
func runFlagTable[O any](t *testing.T, parse func(Deps, []string) (*O, bool), cases []flagCase[O], allow ...any) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			d, _, errb := testDeps(t, t.TempDir())
			got, ok := parse(d, tt.args)
			if tt.wantErr != "" {
				if ok || !strings.Contains(errb.String(), tt.wantErr) {
					t.Fatalf("want error %q, got ok=%v stderr=%q", tt.wantErr, ok, errb.String())
				}
				return
			}
			if !ok {
				t.Fatalf("unexpected error: %s", errb.String())
			}
			if d := cmp.Diff(tt.want, *got, cmp.AllowUnexported(allow...), cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseValidateOptions(t *testing.T) {
	runFlagTable(t, parseValidateOptions, []flagCase[validateOptions]{
		{name: "defaults", want: validateOptions{}},
		{name: "json and chdir", args: []string{"-json", "-chdir=sub"}, want: validateOptions{json: true, chdir: "sub"}},
		{name: "unknown flag", args: []string{"-raw"}, wantErr: "flag provided but not defined: -raw"},
	}, validateOptions{})
}

func TestParseFmtOptions(t *testing.T) {
	runFlagTable(t, parseFmtOptions, []flagCase[fmtOptions]{
		{name: "defaults", want: fmtOptions{files: []string{}}},
		{name: "check, diff and files", args: []string{"-check", "--diff", "a.hcl", "b.hcl"}, want: fmtOptions{check: true, diff: true, files: []string{"a.hcl", "b.hcl"}}},
		{name: "unknown flag", args: []string{"-write"}, wantErr: "flag provided but not defined: -write"},
	}, fmtOptions{})
}

func TestParseOutputOptions(t *testing.T) {
	runFlagTable(t, parseOutputOptions, []flagCase[outputOptions]{
		{name: "defaults", want: outputOptions{names: []string{}}},
		{name: "raw name", args: []string{"-raw", "-state", "s.json", "ip"}, want: outputOptions{raw: true, statePath: "s.json", names: []string{"ip"}}},
		{name: "json", args: []string{"-json"}, want: outputOptions{json: true, names: []string{}}},
		{name: "unknown flag", args: []string{"-no-color"}, wantErr: "flag provided but not defined: -no-color"},
	}, outputOptions{})
}

func TestParseShowOptions(t *testing.T) {
	runFlagTable(t, parseShowOptions, []flagCase[showOptions]{
		{name: "state", want: showOptions{args: []string{}}},
		{name: "plan file as json", args: []string{"-json", "dev.plan"}, want: showOptions{json: true, args: []string{"dev.plan"}}},
		{name: "unknown flag", args: []string{"-raw"}, wantErr: "flag provided but not defined: -raw"},
	}, showOptions{})
}

func TestParseStateOptions(t *testing.T) {
	runFlagTable(t, parseStateOptions, []flagCase[stateOptions]{
		{name: "no subcommand", wantErr: "Usage: mlops [-chdir=DIR] state <subcommand>"},
		{name: "list", args: []string{"list"}, want: stateOptions{sub: "list", args: []string{}}},
		{name: "rm with state", args: []string{"rm", "-state=s.json", "aws_instance.a", "aws_instance.b"},
			want: stateOptions{sub: "rm", statePath: "s.json", args: []string{"aws_instance.a", "aws_instance.b"}}},
		{name: "unknown flag", args: []string{"rm", "-force"}, wantErr: "flag provided but not defined: -force"},
	}, stateOptions{})
}

func TestParseImportOptions(t *testing.T) {
	box := addrs.Resource{Mode: addrs.Managed, Type: "aws_instance", Name: "box"}
	runFlagTable(t, parseImportOptions, []flagCase[importOptions]{
		{name: "address and id", args: []string{"aws_instance.box", "i-0abc"}, want: importOptions{addr: box, id: "i-0abc"}},
		{name: "instance key and vars", args: []string{"-var", "a=1", "-var-file", "x.hcl", `aws_instance.box["alice"]`, "i-0abc"},
			want: importOptions{vf: varFlags{vars: stringList{"a=1"}, varFiles: stringList{"x.hcl"}}, addr: box.Instance(addrs.StringKey("alice")), id: "i-0abc"}},
		{name: "missing id", args: []string{"aws_instance.box"}, wantErr: "Usage: mlops [-chdir=DIR] import"},
		{name: "data source", args: []string{"data.aws_ami.u", "ami-1"}, wantErr: "is not a resource address (TYPE.NAME)"},
		{name: "unknown flag", args: []string{"-auto-approve", "aws_instance.box", "i-0abc"}, wantErr: "flag provided but not defined: -auto-approve"},
	}, importOptions{}, varFlags{})
}

func TestParseForceUnlockOptions(t *testing.T) {
	runFlagTable(t, parseForceUnlockOptions, []flagCase[forceUnlockOptions]{
		{name: "lock id", args: []string{"-state", "s.json", "1234"}, want: forceUnlockOptions{statePath: "s.json", lockID: "1234"}},
		{name: "no lock id", wantErr: "Usage: mlops [-chdir=DIR] force-unlock LOCK_ID"},
		{name: "unknown flag", args: []string{"-force", "1"}, wantErr: "flag provided but not defined: -force"},
	}, forceUnlockOptions{})
}
