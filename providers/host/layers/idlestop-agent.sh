#!/bin/bash
# mlops idle-stop agent, installed by the idle_stop layer of mlops.
#
# It stops this machine from inside (shutdown -h, which EC2 turns into a
# stop) when nobody has worked on it for a while. Work is what the settings
# in /etc/mlops/idle-stop.conf switch on: terminal input in SSH and IDE
# sessions (an open but untouched session is not work), busy or recently
# active Jupyter kernels, GPU utilisation, CPU use, processes matching
# patterns, and a keep_awake command. It needs no AWS credentials and no
# laptop: everything is decided here. Every check writes one line, with its
# reason, to /var/log/mlops-idle-stop.log.
#
#   idle-stop check    decide once (the systemd timer, cron, or the loop call it)
#   idle-stop loop     check every CHECK_EVERY seconds, forever (hosts without systemd or cron)
#
# Tests inject the clock (MLOPS_IDLE_NOW, seconds since the epoch) and the
# stop command (MLOPS_IDLE_STOP_COMMAND) through the environment.
set -u

CONF=${MLOPS_IDLE_CONF:-/etc/mlops/idle-stop.conf}
STATE_DIR=${MLOPS_IDLE_STATE_DIR:-/var/lib/mlops/idle-stop}
LOG=${MLOPS_IDLE_LOG:-/var/log/mlops-idle-stop.log}
PIDFILE=${MLOPS_IDLE_PIDFILE:-/run/mlops-idle-stop.pid}

load_conf() {
  AFTER=3600 WARN_BEFORE=300 CHECK_EVERY=60 SSH_INPUT=1 JUPYTER=1 GPU_PERCENT=10 CPU_PERCENT=30
  PROCESSES=() KEEP_AWAKE='' STOP_COMMAND='shutdown -h now'
  # shellcheck disable=SC1090
  . "$CONF"
  if [ -n "${MLOPS_IDLE_STOP_COMMAND:-}" ]; then STOP_COMMAND=$MLOPS_IDLE_STOP_COMMAND; fi
}

clock() {
  if [ -n "${MLOPS_IDLE_NOW:-}" ]; then echo "$MLOPS_IDLE_NOW"; else date +%s; fi
}

minutes() { echo "$(( $1 / 60 ))m"; }
hhmm() { date -u -d "@$1" +'%H:%M UTC'; }

# cpu_ticks prints the CPU time (clock ticks) all processes have used.
cpu_ticks() {
  local f s t=0
  for f in /proc/[0-9]*/stat; do
    read -r s <"$f" 2>/dev/null || continue
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    t=$(( t + ${12} + ${13} ))
  done
  echo "$t"
}

# signals sets ACTIVE to why the machine is busy now ("" when it is not),
# and moves LAST_ACTIVE forward to recent input it finds.
signals() {
  ACTIVE=''
  local t a f url token body when p pid u before after hz pct
  if [ "$SSH_INPUT" = 1 ]; then
    # A terminal's access time is its last input (what `w` shows as IDLE).
    for t in /dev/pts/[0-9]*; do
      [ -e "$t" ] || continue
      a=$(stat -c %X -- "$t" 2>/dev/null) || continue
      if [ "$a" -gt "$LAST_ACTIVE" ] && [ "$a" -le "$NOW" ]; then
        LAST_ACTIVE=$a LAST_WHAT="terminal input on ${t#/dev/}"
      fi
    done
  fi
  if [ "$JUPYTER" = 1 ] && command -v curl >/dev/null 2>&1; then
    for f in /home/*/.local/share/jupyter/runtime/jpserver-*.json /home/*/.local/share/jupyter/runtime/nbserver-*.json \
      /root/.local/share/jupyter/runtime/jpserver-*.json /root/.local/share/jupyter/runtime/nbserver-*.json; do
      [ -f "$f" ] || continue
      url=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$f" | head -n 1)
      token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$f" | head -n 1)
      [ -n "$url" ] || continue
      body=$(curl -fsS -m 5 -H "Authorization: token $token" "${url%/}/api/kernels" 2>/dev/null) || continue
      if [[ $body =~ \"execution_state\"[[:space:]]*:[[:space:]]*\"busy\" ]]; then
        ACTIVE="a Jupyter kernel is busy (${url%/})"
        return
      fi
      while read -r when; do
        a=$(date -d "$when" +%s 2>/dev/null) || continue
        if [ "$a" -gt "$LAST_ACTIVE" ] && [ "$a" -le "$NOW" ]; then
          LAST_ACTIVE=$a LAST_WHAT="Jupyter kernel activity (${url%/})"
        fi
      done < <(grep -o '"last_activity": *"[^"]*"' <<<"$body" | sed 's/.*: *"\(.*\)"/\1/')
    done
  fi
  if [ "$GPU_PERCENT" -gt 0 ] && command -v nvidia-smi >/dev/null 2>&1; then
    u=$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits 2>/dev/null | tr -dc '0-9\n' | sort -n | tail -n 1)
    if [ -n "$u" ] && [ "$u" -ge "$GPU_PERCENT" ]; then
      ACTIVE="GPU utilisation ${u}% (at least ${GPU_PERCENT}%)"
      return
    fi
  fi
  for p in "${PROCESSES[@]}"; do
    if pid=$(pgrep -f -o -- "$p" 2>/dev/null); then
      ACTIVE="process $pid matches \"$p\""
      return
    fi
  done
  if [ "$CPU_PERCENT" -gt 0 ]; then
    hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
    before=$(cpu_ticks)
    sleep 1
    after=$(cpu_ticks)
    pct=$(( (after - before) * 100 / hz ))
    if [ "$pct" -ge "$CPU_PERCENT" ]; then
      ACTIVE="CPU use ${pct}% of one CPU (at least ${CPU_PERCENT}%)"
      return
    fi
  fi
  if [ -n "$KEEP_AWAKE" ]; then
    if timeout 60 bash -c "$KEEP_AWAKE" </dev/null >/dev/null 2>&1; then
      ACTIVE="the keep_awake command succeeded"
      return
    fi
  fi
}

# decide writes the one log line of this check and the status mlops reads.
decide() {
  local line
  line="$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ) $1: $2"
  echo "$line" >>"$LOG"
  printf '%s\t%s\t%s\n' "$NOW" "$1" "$2" >"$STATE_DIR/status.tmp" && mv -f "$STATE_DIR/status.tmp" "$STATE_DIR/status"
  echo "$line"
}

save_state() {
  {
    printf 'LAST_ACTIVE=%q\n' "$LAST_ACTIVE"
    printf 'LAST_WHAT=%q\n' "$LAST_WHAT"
    printf 'BOOT_ID=%q\n' "$BOOT_ID"
    printf 'WARNED=%q\n' "$WARNED"
  } >"$STATE_DIR/state.tmp" && mv -f "$STATE_DIR/state.tmp" "$STATE_DIR/state"
}

check() {
  cd / || return 1
  load_conf
  mkdir -p "$STATE_DIR"
  NOW=$(clock)
  local boot idle left
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  LAST_ACTIVE='' LAST_WHAT='' BOOT_ID='' WARNED=0
  # shellcheck disable=SC1091
  [ -f "$STATE_DIR/state" ] && . "$STATE_DIR/state"
  if [ -z "$LAST_ACTIVE" ] || [ "$BOOT_ID" != "$boot" ]; then
    # A new boot (or the first check) starts the idle timer afresh, so a
    # machine started in the morning is not stopped for last night.
    LAST_ACTIVE=$NOW LAST_WHAT="the agent started" BOOT_ID=$boot WARNED=0
  fi
  signals
  if [ -n "$ACTIVE" ]; then
    LAST_ACTIVE=$NOW LAST_WHAT=$ACTIVE WARNED=0
    save_state
    decide active "$ACTIVE; idle timer reset"
    return 0
  fi
  idle=$(( NOW - LAST_ACTIVE ))
  [ "$idle" -lt 0 ] && idle=0
  if [ "$idle" -ge "$AFTER" ]; then
    save_state
    decide stop "idle for $(minutes "$idle") of $(minutes "$AFTER"); last activity: $LAST_WHAT at $(hhmm "$LAST_ACTIVE"); running: $STOP_COMMAND"
    # Its output goes to a file of its own: the log keeps one line per check.
    (cd / && bash -c "$STOP_COMMAND") </dev/null >"$STATE_DIR/stop.out" 2>&1 ||
      echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) error: the stop command failed (exit $?); its output is in $STATE_DIR/stop.out" >>"$LOG"
    return 0
  fi
  left=$(( AFTER - idle ))
  if [ "$WARN_BEFORE" -gt 0 ] && [ "$left" -le "$WARN_BEFORE" ] && [ "$WARNED" != 1 ]; then
    WARNED=1
    save_state
    wall "mlops: this machine has been idle for $(minutes "$idle") and stops in about $(minutes "$left"). Type anything in a terminal to keep it running." >/dev/null 2>&1 </dev/null || true
    decide warn "idle for $(minutes "$idle") of $(minutes "$AFTER"); stopping in $(minutes "$left"); warned logged-in users; last activity: $LAST_WHAT at $(hhmm "$LAST_ACTIVE")"
    return 0
  fi
  save_state
  decide idle "idle for $(minutes "$idle") of $(minutes "$AFTER"); last activity: $LAST_WHAT at $(hhmm "$LAST_ACTIVE")"
}

loop() {
  echo "$$" >"$PIDFILE"
  load_conf
  while :; do
    sleep "$CHECK_EVERY"
    check >/dev/null 2>&1
  done
}

case "${1:-}" in
check) check ;;
loop) loop ;;
*)
  echo "usage: idle-stop check|loop" >&2
  exit 2
  ;;
esac
