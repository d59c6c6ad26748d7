d="$HOME"/'soft'
if [ -e "$d/docker-compose" ] || [ -L "$d/docker-compose" ]; then
  __mlops_pick_sudo "$d"
  $__mlops_S rm -f -- "$d/docker-compose"
echo 'removed ~/soft/docker-compose'
fi
rc="$HOME/.bashrc"
tmp=$(mktemp "${TMPDIR:-/tmp}/mlops-bashrc.XXXXXX")
__mlops_tmps+=("$tmp")
if grep -qF -- '# mlops: docker_compose PATH' "$rc" 2>/dev/null; then
  grep -vF -- '# mlops: docker_compose PATH' "$rc" >"$tmp" || [ $? -eq 1 ]
  cat -- "$tmp" >"$rc"
echo 'removed the old PATH line from ~/.bashrc'
fi
