// Package ctxsleep holds the one context-aware sleep that retry loops share,
// so that a Ctrl-C ends a wait at once instead of after it.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done, whichever comes first. It returns
// ctx.Err() when the context ended the wait, nil otherwise.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
