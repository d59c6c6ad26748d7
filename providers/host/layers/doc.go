// Package layers implements the software layer kinds (apt, anaconda, docker,
// docker_compose, file, shell): their schemas, their probes (batched into one
// remote script per host) and their actions. It talks to a host only through
// a Runner, so it can be tested without SSH and used over any transport.
//
// # Who does what
//
// The SSH transport (providers/host) owns the connection: it implements
// Runner, verifies the host key and implements providers.HostSession. Its
// HostSession delegates the layer work to an Engine:
//
//	func (s *session) Probe(ctx context.Context, req providers.ProbeRequest) providers.ProbeResponse {
//		return s.engine.Probe(ctx, s.runner, req)
//	}
//	func (s *session) Converge(ctx context.Context, req providers.ConvergeRequest) providers.ConvergeResponse {
//		return s.engine.Converge(ctx, s.runner, req)
//	}
//
// HostKey and Close stay with the transport. Schemas gives
// providers.Hosts.LayerSchemas its answer, and Digest computes
// providers.Layer.Digest.
//
// # Scripts
//
// Every script is fed to `bash -s` as the SSH user. Probe sends one script for
// all layers of a host (one Runner.Capture); it only reads, never uses sudo,
// and reports facts that Go code judges. Converge probes each layer again
// just before it runs, runs only the missing steps as one Runner.Run script
// under `set -euo pipefail`, and probes once more to confirm. Commands that
// need root run through `sudo -n` unless Runner.User() is "root".
//
// Every value from configuration is validated by the schema and, separately,
// shell-quoted (or base64-encoded) where it enters a script. "~/" in a path
// is the SSH user's home, expanded on the host as "$HOME".
package layers
