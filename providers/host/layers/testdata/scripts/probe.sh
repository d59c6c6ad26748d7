__mlops_fact() {
  local LC_ALL=C
  printf '@@mlops:%s %s %s %s %s\n' 'NONCE' "$__mlops_i" "$1" "${#2}" "$2"
}
__mlops_match() {
  local LC_ALL=C
  [[ $1 =~ $2 ]]
}
__mlops_probe() {
__mlops_i=0
(
__mlops_fact begin ''
q=$(dpkg-query -W -f='${Package}|${Status}|${Version}\n' 'git' 'make' 'libc6' 2>/dev/null) || :
v=; while IFS= read -r l; do if [ "${l%%|*}" = 'git' ]; then v+=${l#*|}; fi; done <<<"$q"
__mlops_fact pkg.0 "$v"
v=; while IFS= read -r l; do if [ "${l%%|*}" = 'make' ]; then v+=${l#*|}; fi; done <<<"$q"
__mlops_fact pkg.1 "$v"
v=; while IFS= read -r l; do if [ "${l%%|*}" = 'libc6' ]; then v+=${l#*|}; fi; done <<<"$q"
__mlops_fact pkg.2 "$v"
) </dev/null
__mlops_fact end "$?"
__mlops_i=1
(
__mlops_fact begin ''
p="$HOME"/'anaconda3'
if [ -e "$p" ]; then __mlops_fact exists 1; else __mlops_fact exists ''; fi
if [ -x "$p/bin/conda" ]; then __mlops_fact conda 1; else __mlops_fact conda ''; fi
if [ -x "$p/bin/conda" ]; then
  v= sb=
  for m in "$p"/conda-meta/conda-[0-9]*.json; do
    [ -f "$m" ] || continue
    m=${m##*/conda-meta/conda-}
    v+="${v:+ }${m%%-*}"
  done
  __mlops_fact version "$v"
  { IFS= read -r sb <"$p/bin/conda"; } 2>/dev/null
  if [[ $sb == '#!'* ]]; then sb=${sb#'#!'}; sb=${sb#"${sb%%[! ]*}"}; sb=${sb%% *}; else sb=; fi
  __mlops_fact interp "$sb"
if [ -n "$sb" ] && [ -x "$sb" ]; then __mlops_fact runs 1; else __mlops_fact runs ''; fi
  init= inblock=
  if [ -r "$HOME/.bashrc" ]; then
    while IFS= read -r l || [ -n "$l" ]; do
      case $l in
        '# >>> conda initialize >>>') inblock=1 ;;
        '# <<< conda initialize <<<') inblock= ;;
        *) if [ -n "$inblock" ] && [[ $l == *"$p/bin/conda"* ]]; then init=1; fi ;;
      esac
    done <"$HOME/.bashrc"
  fi
  __mlops_fact init "$init"
fi
) </dev/null
__mlops_fact end "$?"
__mlops_i=2
(
__mlops_fact begin ''
__mlops_fact pkg "$(dpkg-query -W -f='${Status}|${Version}' 'docker.io' 2>/dev/null)"
if id -u 'ubuntu' >/dev/null 2>&1; then __mlops_fact exists.0 1; else __mlops_fact exists.0 ''; fi
__mlops_fact groups.0 "$(id -nG 'ubuntu' 2>/dev/null)"
if id -u 'alice' >/dev/null 2>&1; then __mlops_fact exists.1 1; else __mlops_fact exists.1 ''; fi
__mlops_fact groups.1 "$(id -nG 'alice' 2>/dev/null)"
dpid= dcomm=
{ read -r dpid </var/run/docker.pid; } 2>/dev/null
if [[ $dpid =~ ^[0-9]+$ ]]; then { read -r dcomm <"/proc/$dpid/comm"; } 2>/dev/null; fi
if [ "$dcomm" = dockerd ]; then __mlops_fact daemon 1; else __mlops_fact daemon ''; fi
if [ -d /run/systemd/system ]; then __mlops_fact systemd 1; else __mlops_fact systemd ''; fi
if [ -e /etc/systemd/system/multi-user.target.wants/docker.service ]; then __mlops_fact enabled 1; else __mlops_fact enabled ''; fi
) </dev/null
__mlops_fact end "$?"
__mlops_i=3
(
__mlops_fact begin ''
b="$HOME"/'soft/docker-compose'
if [ -e "$b" ]; then __mlops_fact exists 1; else __mlops_fact exists ''; fi
if [ -f "$b" ] && [ -x "$b" ]; then __mlops_fact exec 1; else __mlops_fact exec ''; fi
if [ -f "$b" ] && [ -x "$b" ]; then
  v=$(timeout 30 "$b" --version 2>&1 | head -n 3)
  __mlops_fact version "$v"
  if __mlops_match "$v" '(^|[^0-9A-Za-z.])v?2\.5\.0([^0-9A-Za-z.]|$)'; then
    sum=$(sha256sum <"$b" 2>/dev/null)
    __mlops_fact sum "${sum%% *}"
  fi
fi
__mlops_fact pathlines "$(grep -F -- '# mlops: docker_compose PATH' "$HOME/.bashrc" 2>/dev/null)"
first=
if [ -r "$HOME/.bashrc" ]; then
  while IFS= read -r l || [ -n "$l" ]; do
    t=${l#"${l%%[![:space:]]*}"}
    case $t in ''|'#'*) continue ;; esac
    first=$l
    break
  done <"$HOME/.bashrc"
fi
__mlops_fact firstcmd "$first"
) </dev/null
__mlops_fact end "$?"
__mlops_i=4
(
__mlops_fact begin ''
f="$HOME"/'.config/mlops/env'
if [ -e "$f" ]; then __mlops_fact exists 1; else __mlops_fact exists ''; fi
if [ -f "$f" ]; then __mlops_fact regular 1; else __mlops_fact regular ''; fi
__mlops_fact mode "$(stat -L -c %a -- "$f" 2>/dev/null)"
if [ -f "$f" ] && [ -r "$f" ]; then
  __mlops_fact readable 1
  sum=$(sha256sum <"$f")
  __mlops_fact sum "${sum%% *}"
elif [ -f "$f" ] && sudo -n true >/dev/null 2>&1; then
  __mlops_fact readable 1
  sum=$(sudo -n cat -- "$f" | sha256sum)
  __mlops_fact sum "${sum%% *}"
fi
) </dev/null
__mlops_fact end "$?"
__mlops_i=5
(
__mlops_fact begin ''
timeout -k 5 60 bash -c 'docker info >/dev/null 2>&1' >/dev/null 2>&1
__mlops_fact rc "$?"
) </dev/null
__mlops_fact end "$?"
}
__mlops_probe </dev/null
