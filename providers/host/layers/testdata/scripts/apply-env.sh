f="$HOME"/'.config/mlops/env'
d="$HOME"/'.config/mlops'
__mlops_pick_sudo "$d"
if [ -d "$f" ]; then echo '~/.config/mlops/env is a directory' >&2; exit 1; fi
tmp=$($__mlops_S mktemp "$d/.mlops-file.XXXXXX")
__mlops_tmps+=("$tmp")
printf '%s' 'TUxGTE9XX1RSQUNLSU5HX1VSST1odHRwOi8vbG9jYWxob3N0OjUwMDAK' | base64 -d | $__mlops_S tee -- "$tmp" >/dev/null
$__mlops_S chmod '0644' "$tmp"
$__mlops_S mv -fT "$tmp" "$f"
echo 'wrote ~/.config/mlops/env (42 bytes, mode 0644)'
