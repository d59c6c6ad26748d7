f="$HOME"/'.config/mlops/env'
if [ -e "$f" ] || [ -L "$f" ]; then
  __mlops_pick_sudo "$HOME"/'.config/mlops'
  $__mlops_S rm -f -- "$f"
echo 'removed ~/.config/mlops/env'
else
echo '~/.config/mlops/env is already absent'
fi
