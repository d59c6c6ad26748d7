p="$HOME"/'anaconda3'
tmp=$(mktemp -d)
__mlops_tmps+=("$tmp")
__mlops_download 'https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh' "$tmp/installer.sh"
__mlops_verify "$tmp/installer.sh" 'a7c0afe862f6ea19a596801fc138bde0463abcbce1b753e8d5c474b506a2db2d'
if [ -e "$p" ]; then
echo 'installing into the existing ~/anaconda3 (-u)'
  bash "$tmp/installer.sh" -b -u -p "$p"
else
  bash "$tmp/installer.sh" -b -p "$p"
fi
"$p/bin/conda" --version
"$p/bin/conda" init bash
