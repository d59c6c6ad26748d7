package layers

import (
	"strconv"
	"strings"
)

// Every remote script is a function definition followed by one call with
// stdin from /dev/null. The transport feeds the script to `bash -s` on stdin,
// and bash reads it as it goes: a command that reads stdin (apt's conffile
// prompt, an installer, a user's check) would otherwise swallow the rest of
// the script. bash parses the whole function before it runs any of it.

// probeScript returns the one script that probes all specs. Each spec runs
// in its own subshell and reports facts as records
//
//	@@mlops:NONCE INDEX KEY LENGTH VALUE\n
//
// where LENGTH is the number of bytes of VALUE, which may hold anything but
// NUL, newlines included. The records of a spec are framed by a "begin" fact
// and an "end" fact carrying the subshell's exit status, so a section that is
// missing or cut short is detected. The nonce is new for every probe: output
// of a probed command can never pass for a fact, and the parser skips a
// value by its length, so a value never passes for one either.
//
// __mlops_fact writes a record with bash builtins only: no subshell, pipe or
// process per fact (the probe reports dozens). LC_ALL=C, local to the
// function, makes ${#2} count bytes rather than characters of the user's
// locale; the probed commands keep the locale they would otherwise have.
func probeScript(nonce string, specs []spec) string {
	var w script
	w.line("__mlops_fact() {")
	w.line("  local LC_ALL=C")
	w.line("  printf '@@mlops:%s %s %s %s %s\\n' ", quote(nonce), ` "$__mlops_i" "$1" "${#2}" "$2"`)
	w.line("}")
	// __mlops_match STRING ERE matches bytes, as Go's regexp does on ASCII
	// patterns, whatever the user's locale.
	w.line("__mlops_match() {")
	w.line("  local LC_ALL=C")
	w.line(`  [[ $1 =~ $2 ]]`)
	w.line("}")
	w.line("__mlops_probe() {")
	for i, s := range specs {
		idx := strconv.Itoa(i)
		w.line("__mlops_i=", idx)
		w.line("(")
		w.line("__mlops_fact begin ''")
		s.probe(&w)
		w.line(") </dev/null")
		w.line(`__mlops_fact end "$?"`)
	}
	w.line("}")
	w.line("__mlops_probe </dev/null")
	return w.String()
}

// convergeScript wraps the body of a converge script (as a layer's apply or
// remove wrote it) with the helpers, in a function called with stdin from
// /dev/null.
func convergeScript(user, body string) string {
	return "__mlops_main() {\n" + convergePreamble(user) + body + "}\n__mlops_main </dev/null\n"
}

// convergePreamble defines the helpers of converge scripts. user is the SSH
// user: root runs privileged commands directly, anyone else through sudo -n
// (never prompting; a missing NOPASSWD rule is reported as such).
func convergePreamble(user string) string {
	root := user == "root"
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	b.WriteString("umask 022\n")
	if root {
		b.WriteString("__mlops_require_root() { :; }\n")
		b.WriteString(`__mlops_root() { "$@"; }` + "\n")
	} else {
		b.WriteString("__mlops_require_root() {\n")
		b.WriteString("  if ! sudo -n true >/dev/null 2>&1; then\n")
		b.WriteString("    echo " + quote(noSudoMessage+user+" (sudo -n true failed)") + " >&2\n")
		b.WriteString("    exit " + strconv.Itoa(exitNoSudo) + "\n")
		b.WriteString("  fi\n")
		b.WriteString("}\n")
		b.WriteString(`__mlops_root() { sudo -n -- "$@"; }` + "\n")
	}
	b.WriteString(convergeHelpers)
	b.WriteString(aptLockHelpers)
	return b.String()
}

// noSudoMessage starts the last line a converge script prints before it
// exits with exitNoSudo.
const noSudoMessage = "mlops: passwordless sudo is required for user "

// exitNoSudo is the exit status a converge script uses when it needs root
// and sudo -n does not work.
const exitNoSudo = 97

// convergeHelpers are the shell functions converge scripts share.
const convergeHelpers = `__mlops_tmps=()
__mlops_cleanup() {
  local f
  for f in "${__mlops_tmps[@]}"; do
    rm -rf -- "$f" 2>/dev/null || __mlops_root rm -rf -- "$f" 2>/dev/null || true
  done
}
trap __mlops_cleanup EXIT
# __mlops_S is empty when the SSH user can write to the directory, else the
# command that runs its arguments as root.
__mlops_S=
__mlops_pick_sudo() {
  if mkdir -p -- "$1" 2>/dev/null && [ -w "$1" ]; then
    __mlops_S=
  else
    __mlops_require_root
    __mlops_S=__mlops_root
    $__mlops_S mkdir -p -- "$1"
  fi
}
__mlops_wait_cloud_init() {
  if command -v cloud-init >/dev/null 2>&1; then
    echo "waiting for cloud-init to finish"
    # Exit status 2 means cloud-init finished with recoverable errors.
    cloud-init status --wait >/dev/null || [ $? -eq 2 ]
  fi
}
__mlops_apt_lists() {
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    echo "the package lists are empty; running apt-get update"
    __mlops_apt_get update
  fi
}
__mlops_apt_get() {
  __mlops_apt_wait
  __mlops_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
# __mlops_download URL FILE downloads URL to FILE with curl, printing a
# progress line every 5 seconds. The URL is taken literally (--globoff: no
# [1-9] or {a,b} expansion); an https URL is never followed to anything but
# https; user:password@ in the URL is never printed.
__mlops_download() {
  local url=$1 out=$2 pid rc i=0 size shown proto
  shown=$(printf '%s' "$url" | sed -E 's#^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@#\1***@#')
  case $url in
    https://*) proto='=https' ;;
    *) proto='=http,https' ;;
  esac
  echo "downloading $shown"
  $__mlops_S curl -fsSL --globoff --proto "$proto" --proto-redir "$proto" --retry 3 --connect-timeout 30 -o "$out" "$url" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    i=$((i + 1))
    if [ $((i % 25)) -eq 0 ]; then
      size=$(stat -c %s -- "$out" 2>/dev/null || echo 0)
      echo "downloading: $((size / 1048576)) MiB so far"
    fi
  done
  wait "$pid" || {
    rc=$?
    echo "download of $shown failed (curl exit status $rc)" >&2
    return 1
  }
  echo "downloaded $(stat -c %s -- "$out") bytes"
}
# __mlops_verify FILE SHA256 fails unless FILE has the checksum.
__mlops_verify() {
  local got
  got=$($__mlops_S cat -- "$1" | sha256sum | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "checksum mismatch: got sha256 $got, want $2" >&2
    return 1
  fi
  echo "sha256 verified: $got"
}
`
