__mlops_main() {
set -euo pipefail
umask 022
__mlops_require_root() {
  if ! sudo -n true >/dev/null 2>&1; then
    echo 'mlops: passwordless sudo is required for user ubuntu (sudo -n true failed)' >&2
    exit 97
  fi
}
__mlops_root() { sudo -n -- "$@"; }
__mlops_tmps=()
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
# __mlops_apt_holder prints "FILE PID" for the first apt or dpkg lock that a
# process holds, and fails when none is held.
__mlops_apt_holder() {
  local f d i want=() names=() line n
  while read -r f d i; do
    want+=("$(printf '%02x:%02x:%s' $(((d >> 8 & 0xfff) | (d >> 32 & ~0xfff))) $(((d & 0xff) | (d >> 12 & ~0xff))) "$i")")
    names+=("$f")
  done < <(stat -c '%n %d %i' -- /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock \
    /var/lib/apt/lists/lock /var/cache/apt/archives/lock 2>/dev/null)
  while read -r line; do
    [[ $line =~ ^[0-9]+:\ +(POSIX|OFDLCK)\ +[A-Z]+\ +[A-Z]+\ +(-?[0-9]+)\ +([0-9a-f]+:[0-9a-f]+:[0-9]+)\  ]] || continue
    for n in "${!want[@]}"; do
      if [ "${BASH_REMATCH[3]}" = "${want[$n]}" ]; then
        echo "${names[$n]} ${BASH_REMATCH[2]}"
        return 0
      fi
    done
  done </proc/locks
  return 1
}
# __mlops_apt_wait waits until no apt or dpkg lock is held, for at most
# __mlops_apt_lock_wait seconds.
__mlops_apt_lock_wait=300
__mlops_apt_wait() {
  local holder comm start=$SECONDS said=
  while holder=$(__mlops_apt_holder); do
    if [ $((SECONDS - start)) -ge "$__mlops_apt_lock_wait" ]; then
      echo "apt is still busy after $__mlops_apt_lock_wait s: ${holder% *} is locked by process ${holder##* }" >&2
      return 1
    fi
    if [ -z "$said" ] || [ $(((SECONDS - start) % 30)) -eq 0 ]; then
      comm=$(cat "/proc/${holder##* }/comm" 2>/dev/null) || comm=?
      echo "waiting for ${holder% *}, locked by process ${holder##* } ($comm)"
      said=1
    fi
    sleep 1
  done
  if [ -n "$said" ]; then echo "apt is free after $((SECONDS - start)) s"; fi
}
BODY
}
__mlops_main </dev/null
