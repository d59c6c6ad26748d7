package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/providers"
)

// runHostScript runs a provider's HostScript on the host (the machine's
// side of a cloud change) and reports its output as progress. A failure is
// a warning: the cloud change it follows is done and recorded.
func (a *applier) runHostScript(ctx context.Context, addr addrs.Resource, sess providers.HostSession, script string, subject hcl.Range) {
	h := a.e.hooks()
	runner, ok := sess.(providers.ScriptRunner)
	if !ok {
		a.addDiag(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: addr.String() + ": host step skipped",
			Detail: "The SSH session cannot run the provider's follow-up script on the host.", Subject: subject.Ptr()})
		return
	}
	var tail []string
	code, err := runner.RunScript(ctx, script, func(line string) {
		h.Progress(addr, line)
		tail = append(tail, line)
		if len(tail) > 10 {
			tail = tail[1:]
		}
	})
	if err == nil && code == 0 {
		return
	}
	why := fmt.Sprintf("exit status %d", code)
	if err != nil {
		why = err.Error()
	}
	a.addDiag(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: addr.String() + ": host step failed",
		Detail:  fmt.Sprintf("The step on the host after the change failed (%s); the cloud change is done. Last output:\n%s", why, strings.Join(tail, "\n")),
		Subject: subject.Ptr()})
}
