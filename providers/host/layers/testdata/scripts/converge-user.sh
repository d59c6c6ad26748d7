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
BODY
}
__mlops_main </dev/null
