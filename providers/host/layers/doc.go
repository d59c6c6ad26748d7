// Package layers implements the software layer kinds (apt, anaconda, docker,
// docker_compose, file, shell, idle_stop, authorized_keys) and the host steps
// providers declare (an aws_instance's data volume): their schemas, their probes (batched into one
// remote script per host) and their actions. It talks to a host only through
// a Runner, so it can be tested without SSH and used over any transport.
//
// # Who does what
//
// The SSH transport (providers/host) owns the connection: it implements
// Runner, verifies the host key and implements providers.HostSession. The
// layer work, Probe and Converge, is done by an Engine over that Runner;
// HostKey and Close stay with the transport. The wiring is
//
//	host.New(host.Options{NewSession: layers.NewSession, LayerSchemas: layers.Schemas})
//
// where NewSession is a HostSession whose Probe and Converge call a zero
// Engine, and whose HostKey and Close the transport's session overrides. A
// transport that builds its own session calls Engine.Probe and
// Engine.Converge with its Runner directly. Digest computes
// providers.Layer.Digest.
//
// # Scripts
//
// Every script is fed to `bash -s` as the SSH user. Probe sends one script for
// all layers of a host (one Runner.Capture); it only reads, needs no sudo
// (it tries sudo -n only to read a file layer's file that the SSH user cannot
// read), and reports facts that Go code judges. Converge probes each layer again
// just before it runs, runs only the missing steps as one Runner.Run script
// under `set -euo pipefail`, and probes once more to confirm. Commands that
// need root run through `sudo -n` unless Runner.User() is "root".
//
// Every value from configuration is validated by the schema and, separately,
// shell-quoted (or base64-encoded) where it enters a script. "~/" in a path
// is the SSH user's home, expanded on the host as "$HOME".
package layers
