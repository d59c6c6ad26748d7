package layers

import "context"

// Stream tells stdout from stderr in Runner output.
type Stream int

const (
	Stdout Stream = 1
	Stderr Stream = 2
)

// Runner runs scripts on one host over one connection.
type Runner interface {
	// Run runs script with `bash -s` on the host as the SSH user, delivering
	// output lines as they arrive. It returns the script's exit status; err is
	// for transport failures (connection lost), never for a non-zero exit.
	Run(ctx context.Context, script string, output func(s Stream, line string)) (exitCode int, err error)
	// Capture runs script with `bash -s` and returns its whole stdout and stderr.
	// One Capture is one remote round trip.
	Capture(ctx context.Context, script string) (stdout, stderr []byte, exitCode int, err error)
	// Reconnect drops the connection and opens a new one, so that a new login
	// sees changed group membership.
	Reconnect(ctx context.Context) error
	// User is the remote user name ("root" means no sudo is needed).
	User() string
}
