package layers

// aptLockHelpers make apt-get wait for the locks that other apt runs hold.
// On a fresh Ubuntu instance apt-daily and unattended-upgrades run apt at
// first boot, for minutes. apt-get's DPkg::Lock::Timeout makes it wait for
// dpkg's locks, but `apt-get update` does not wait for the package lists'
// lock (/var/lib/apt/lists/lock): it fails at once with "Could not get
// lock". So before each apt-get the script waits, up to aptLockWait
// seconds, until none of apt's and dpkg's locks is held.
//
// apt and dpkg take POSIX record locks (fcntl), which flock(1) neither
// takes part in nor sees, and fuser(1) is not on every host (Debian's
// minimal images lack psmisc). /proc/locks lists every lock in the system
// with the device and inode of its file, so a lock is found with bash
// builtins and one stat.
const aptLockHelpers = `# __mlops_apt_holder prints "FILE PID" for the first apt or dpkg lock that a
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
`
