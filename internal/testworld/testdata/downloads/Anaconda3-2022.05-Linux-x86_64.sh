#!/bin/bash
# mlops test stand-in for Anaconda3-2022.05-Linux-x86_64.sh (the real one is
# 659 MB). It takes the real installer's batch options: -b (batch), -p PREFIX
# (default ~/anaconda3), -u (update an existing installation), and installs
# PREFIX/bin/conda, which prints "conda 4.12.0", and PREFIX/bin/python.
set -eu
BATCH=0
UPDATE=0
PREFIX="$HOME/anaconda3"
while getopts "bufhp:" opt; do
    case "$opt" in
        b) BATCH=1 ;;
        u) UPDATE=1 ;;
        f) UPDATE=1 ;;
        p) PREFIX="$OPTARG" ;;
        h) echo "usage: $0 [-b] [-u] [-p PREFIX]"; exit 0 ;;
        *) echo "usage: $0 [-b] [-u] [-p PREFIX]" >&2; exit 2 ;;
    esac
done
if [ "$BATCH" != 1 ]; then
    echo "ERROR: this stand-in installer supports batch mode (-b) only" >&2
    exit 2
fi
case "$PREFIX" in
    /*) ;;
    *) echo "ERROR: PREFIX must be an absolute path: $PREFIX" >&2; exit 1 ;;
esac
if [ -e "$PREFIX" ] && [ "$UPDATE" != 1 ]; then
    echo "ERROR: File or directory already exists: '$PREFIX'" >&2
    echo "If you want to update an existing installation, use the -u option." >&2
    exit 1
fi
echo "PREFIX=$PREFIX"
echo "Unpacking payload ..."
mkdir -p "$PREFIX/bin" "$PREFIX/pkgs"
cat >"$PREFIX/bin/conda" <<'CONDA'
#!/bin/sh
case "${1:-}" in
    --version|-V) echo "conda 4.12.0" ;;
    *) echo "conda stand-in: only --version is supported" >&2; exit 2 ;;
esac
CONDA
cat >"$PREFIX/bin/python" <<'PYTHON'
#!/bin/sh
if [ "${1:-}" = "--version" ] || [ "${1:-}" = "-V" ]; then echo "Python 3.9.12"; exit 0; fi
if command -v python3 >/dev/null 2>&1; then exec python3 "$@"; fi
echo "python stand-in: no python3 on this host" >&2
exit 1
PYTHON
chmod 0755 "$PREFIX/bin/conda" "$PREFIX/bin/python"
echo "installation finished."
