package aws

import (
	"context"
	"fmt"
)

// poll calls check until it reports done, sleeping PollInterval between
// calls. The wait is bounded by a number of polls (WaitTimeout /
// PollInterval) rather than by a clock, so an instant Sleep in tests still
// ends a wait that never succeeds.
func (p *Provider) poll(ctx context.Context, what string, check func() (done bool, err error)) error {
	polls := int(p.opts.WaitTimeout / p.opts.PollInterval)
	if polls < 1 {
		polls = 1
	}
	for i := 0; ; i++ {
		done, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if i >= polls {
			return fmt.Errorf("timed out after %s waiting for %s", p.opts.WaitTimeout, what)
		}
		if err := p.opts.Sleep(ctx, p.opts.PollInterval); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
	}
}
