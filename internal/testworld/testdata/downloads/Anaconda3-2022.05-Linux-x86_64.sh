#!/bin/bash
# mlops test stand-in for Anaconda3-2022.05-Linux-x86_64.sh (the real one is
# 659 MB). It takes the real installer's batch options: -b (batch), -p PREFIX
# (default ~/anaconda3), -u (update an existing installation), and lays out
# what the real installation has where mlops looks:
#   PREFIX/bin/python        prints "Python 3.9.12" for --version, else runs
#                            this host's python3;
#   PREFIX/bin/conda         a Python program (#!PREFIX/bin/python, as the
#                            real one), printing "conda 4.12.0" for --version,
#                            with `conda init bash` and `conda shell.bash hook`;
#   PREFIX/condabin/conda, PREFIX/etc/profile.d/conda.sh;
#   PREFIX/conda-meta/       one NAME-VERSION-BUILD.json record per package
#                            (conda's own, conda-build's and the other conda-*
#                            packages of the real 2022.05 release among them)
#                            and the history file.
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
mkdir -p "$PREFIX/bin" "$PREFIX/condabin" "$PREFIX/pkgs" "$PREFIX/etc/profile.d" "$PREFIX/conda-meta"
cat >"$PREFIX/bin/python" <<'PYTHON'
#!/bin/sh
if [ "${1:-}" = "--version" ] || [ "${1:-}" = "-V" ]; then echo "Python 3.9.12"; exit 0; fi
if command -v python3 >/dev/null 2>&1; then exec python3 "$@"; fi
echo "python stand-in: no python3 on this host" >&2
exit 1
PYTHON
{
    echo "#!$PREFIX/bin/python"
    cat <<'CONDA'
# -*- coding: utf-8 -*-
# mlops test stand-in for conda 4.12.0: --version, init bash, shell.bash hook.
import os
import sys

VERSION = "4.12.0"
PREFIX = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "# >>> conda initialize >>>"
END = "# <<< conda initialize <<<"


def init_block():
    exe = os.path.join(PREFIX, "bin", "conda")
    sh = os.path.join(PREFIX, "etc", "profile.d", "conda.sh")
    return "\n".join([
        BEGIN,
        "# !! Contents within this block are managed by 'conda init' !!",
        "__conda_setup=\"$('%s' 'shell.bash' 'hook' 2> /dev/null)\"" % exe,
        "if [ $? -eq 0 ]; then",
        "    eval \"$__conda_setup\"",
        "else",
        "    if [ -f \"%s\" ]; then" % sh,
        "        . \"%s\"" % sh,
        "    else",
        "        export PATH=\"%s:$PATH\"" % os.path.join(PREFIX, "bin"),
        "    fi",
        "fi",
        "unset __conda_setup",
        END,
    ]) + "\n"


def init(shells):
    if shells != ["bash"]:
        print("conda stand-in: only `conda init bash` is supported", file=sys.stderr)
        return 2
    rc = os.path.expanduser("~/.bashrc")
    try:
        with open(rc) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    block = init_block()
    start, end = old.find(BEGIN), old.find(END)
    if start >= 0 and end > start:
        new = old[:start] + block + old[end + len(END):].lstrip("\n")
    else:
        new = old + ("" if old == "" or old.endswith("\n") else "\n") + "\n" + block
    for path in ("condabin/conda", "bin/conda", "etc/profile.d/conda.sh"):
        print("no change     " + os.path.join(PREFIX, path))
    if new == old:
        print("no change     " + rc)
        print("No action taken.")
        return 0
    with open(rc, "w") as f:
        f.write(new)
    print("modified      " + rc)
    print()
    print("==> For changes to take effect, close and re-open your current shell. <==")
    return 0


def hook():
    print("export CONDA_EXE='%s'" % os.path.join(PREFIX, "bin", "conda"))
    print("export CONDA_PREFIX='%s'" % PREFIX)
    print("export CONDA_DEFAULT_ENV='base'")
    print("export CONDA_SHLVL='1'")
    print("export PATH='%s:%s':\"$PATH\"" % (os.path.join(PREFIX, "bin"), os.path.join(PREFIX, "condabin")))
    print("PS1='(base) '\"${PS1:-}\"")
    print("conda() { \"$CONDA_EXE\" \"$@\"; }")
    return 0


def main(args):
    if args[:1] in (["--version"], ["-V"]):
        print("conda " + VERSION)
        return 0
    if args[:1] == ["init"]:
        return init(args[1:])
    if args[:2] == ["shell.bash", "hook"]:
        return hook()
    print("conda stand-in: only --version, init bash and shell.bash hook are supported", file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
CONDA
} >"$PREFIX/bin/conda"
cat >"$PREFIX/condabin/conda" <<CONDABIN
#!/bin/sh
exec "$PREFIX/bin/conda" "\$@"
CONDABIN
cat >"$PREFIX/etc/profile.d/conda.sh" <<CONDASH
export CONDA_EXE='$PREFIX/bin/conda'
export PATH='$PREFIX/condabin':"\$PATH"
conda() { "\$CONDA_EXE" "\$@"; }
CONDASH
chmod 0755 "$PREFIX/bin/conda" "$PREFIX/bin/python" "$PREFIX/condabin/conda"
# conda-meta: a record per package, named NAME-VERSION-BUILD.json as conda
# names them. An update (-u) replaces the records of the packages it brings.
record() {
    local name=$1 version=$2 build=$3 subdir=$4
    printf '{"build": "%s", "build_number": 0, "channel": "https://repo.anaconda.com/pkgs/main/%s", "depends": [], "files": [], "fn": "%s-%s-%s.tar.bz2", "name": "%s", "subdir": "%s", "url": "https://repo.anaconda.com/pkgs/main/%s/%s-%s-%s.tar.bz2", "version": "%s"}\n' \
        "$build" "$subdir" "$name" "$version" "$build" "$name" "$subdir" "$subdir" "$name" "$version" "$build" "$version" \
        >"$PREFIX/conda-meta/$name-$version-$build.json"
    echo "+defaults/$subdir::$name-$version-$build" >>"$PREFIX/conda-meta/history"
}
for old in "$PREFIX"/conda-meta/*.json; do
    [ -e "$old" ] && rm -f -- "$old"
done
printf '==> %s <==\n# cmd: constructor Anaconda3-2022.05-Linux-x86_64.sh\n' "$(date '+%Y-%m-%d %H:%M:%S')" >>"$PREFIX/conda-meta/history"
record _libgcc_mutex 0.1 main linux-64
record anaconda 2022.05 py39_0 linux-64
record anaconda-client 1.9.0 py39h06a4308_0 linux-64
record conda 4.12.0 py39h06a4308_0 linux-64
record conda-build 3.21.8 py39h06a4308_2 linux-64
record conda-content-trust 0.1.1 pyhd3eb1b0_0 noarch
record conda-pack 0.6.0 pyhd3eb1b0_0 noarch
record conda-package-handling 1.8.1 py39h7f8727e_0 linux-64
record conda-repo-cli 1.0.4 pyhd3eb1b0_0 noarch
record conda-token 0.3.0 pyhd3eb1b0_0 noarch
record conda-verify 3.4.2 py_1 noarch
record pip 21.2.4 py39h06a4308_0 linux-64
record python 3.9.12 h12debd9_0 linux-64
echo "installation finished."
