package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 is eventually consistent: an object just created (a security group,
// an Elastic IP, an instance, an association) can be missing from reads,
// or named NotFound by calls that use it, for seconds after the create
// answered. The waits here retry such reads on a short, growing delay
// (100 ms doubling to 2 s), bounded by a number of attempts (consistencyAttempts,
// about two minutes of real sleeps) so that an instant Sleep in tests still
// ends a wait that never succeeds.

const (
	consistencyFirstDelay = 100 * time.Millisecond
	consistencyMaxDelay   = 2 * time.Second
	consistencyAttempts   = 64
)

// waitConsistent calls check until it reports done. A check error whose
// API code is one of notFound counts as "not yet"; any other error ends the
// wait.
func (p *Provider) waitConsistent(ctx context.Context, what string, notFound []string, check func() (done bool, err error)) error {
	delay := consistencyFirstDelay
	for i := 1; ; i++ {
		done, err := check()
		if err != nil && !hasCode(err, notFound) {
			return err
		}
		if err == nil && done {
			return nil
		}
		if i >= consistencyAttempts {
			if err != nil {
				return fmt.Errorf("%s is still not visible after %d reads: %w", what, i, err)
			}
			return fmt.Errorf("%s is still not visible after %d reads", what, i)
		}
		if err := p.opts.Sleep(ctx, delay); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		delay = min(2*delay, consistencyMaxDelay)
	}
}

// retryNotFound calls fn until it does not fail with one of the codes
// (an object just created that the call does not see yet).
func (p *Provider) retryNotFound(ctx context.Context, what string, codes []string, fn func() error) error {
	var last error
	err := p.waitConsistent(ctx, what, codes, func() (bool, error) {
		last = fn()
		return last == nil, last
	})
	if err != nil && last != nil && hasCode(last, codes) {
		return last
	}
	return err
}

func hasCode(err error, codes []string) bool {
	code := errorCode(err)
	for _, c := range codes {
		if code == c {
			return true
		}
	}
	return false
}

// The NotFound codes of EC2's object kinds.
var (
	groupNotFound       = []string{"InvalidGroup.NotFound"}
	instanceNotFound    = []string{"InvalidInstanceID.NotFound"}
	allocationNotFound  = []string{"InvalidAllocationID.NotFound", "InvalidInstanceID.NotFound"}
	associationNotFound = []string{"InvalidAssociationID.NotFound", "InvalidAllocationID.NotFound"}
)

// waitGroup reads a group that was just created, waiting until EC2 shows it.
func (p *Provider) waitGroup(ctx context.Context, c *ec2.Client, id string) (sgOut types.SecurityGroup, err error) {
	err = p.waitConsistent(ctx, "security group "+id, groupNotFound, func() (bool, error) {
		found, err := describeGroups(ctx, c, []string{id})
		if err != nil {
			return false, err
		}
		sg, ok := found[id]
		sgOut = sg
		return ok, nil
	})
	return sgOut, err
}

// waitAddress reads an Elastic IP, waiting until EC2 shows it with the
// association (assoc; "" for any state).
func (p *Provider) waitAddress(ctx context.Context, c *ec2.Client, id, assoc string) (aOut types.Address, err error) {
	what := "Elastic IP " + id
	if assoc != "" {
		what += " with association " + assoc
	}
	err = p.waitConsistent(ctx, what, associationNotFound, func() (bool, error) {
		a, found, err := describeOneAddress(ctx, c, id)
		if err != nil {
			return false, err
		}
		aOut = a
		return found && (assoc == "" || deref(a.AssociationId) == assoc), nil
	})
	return aOut, err
}

// waitInstanceVisible waits until a new instance shows up in reads.
func (p *Provider) waitInstanceVisible(ctx context.Context, c *ec2.Client, id string) error {
	return p.waitConsistent(ctx, "instance "+id, instanceNotFound, func() (bool, error) {
		_, found, err := describeOneInstance(ctx, c, id)
		return found, err
	})
}
