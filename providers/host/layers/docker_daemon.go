package layers

// The Docker daemon: installing docker.io starts and enables it where
// systemd runs (Ubuntu's cloud images), but a host can have the package
// without a running daemon: one without systemd as PID 1 (a container, WSL,
// a sysvinit machine whose policy kept the postinst from starting it), or
// one where somebody stopped or disabled it. The docker layer is satisfied
// only when the daemon runs (and, under systemd, starts at boot), since
// `docker run` as a user in the group is what the layer is for.

// probeDaemon reports, with bash builtins only (the probe of a no-op plan
// must stay cheap), whether dockerd runs: the pid in the pid file dockerd
// writes by default (/var/run/docker.pid, with or without systemd) is a live
// process named dockerd. Under systemd it also reports whether docker.service
// is enabled, from the symlink `systemctl enable` makes.
func probeDaemon(w *script) {
	w.line(`dpid= dcomm=`)
	// dockerd writes its pid without a newline, so read fails at the end
	// of the file even when it read the pid.
	w.line(`{ read -r dpid </var/run/docker.pid; } 2>/dev/null`)
	w.line(`if [[ $dpid =~ ^[0-9]+$ ]]; then { read -r dcomm <"/proc/$dpid/comm"; } 2>/dev/null; fi`)
	w.flag("daemon", `[ "$dcomm" = dockerd ]`)
	w.flag("systemd", `[ -d /run/systemd/system ]`)
	w.flag("enabled", `[ -e /etc/systemd/system/multi-user.target.wants/docker.service ]`)
}

// daemonReasons says what is wrong with the daemon of an installed Docker.
func daemonReasons(f facts) []string {
	var out []string
	if !f.flag("daemon") {
		out = append(out, "docker daemon not running")
	}
	if f.flag("systemd") && !f.flag("enabled") {
		out = append(out, "docker service not enabled at boot")
	}
	return out
}

// startDaemon writes the lines that make the daemon run and start at boot,
// whatever the probe said (both commands are no-ops when it already does),
// and wait until it answers: the layers after this one run docker.
func startDaemon(w *script) {
	w.line(`if [ -d /run/systemd/system ]; then`)
	w.line(`  __mlops_root systemctl enable --now docker`)
	w.line(`else`)
	w.line(`  __mlops_root service docker start`)
	w.line(`fi`)
	// The wait tests the socket with a bash builtin first and runs the
	// docker client (a Go program, tens of ms of CPU) only once the socket
	// is there, twice a second; its limit is in seconds of the clock, so
	// the time each try takes counts too.
	w.line(`__mlops_t0=$SECONDS`)
	w.line(`until [ -S /var/run/docker.sock ] && __mlops_root docker version >/dev/null 2>&1; do`)
	w.line(`  if [ $((SECONDS - __mlops_t0)) -ge 60 ]; then`)
	w.line(`    echo "the docker daemon does not answer 60 s after it was started" >&2`)
	w.line(`    exit 1`)
	w.line(`  fi`)
	w.line(`  sleep 0.5`)
	w.line(`done`)
}
