"""The zoomcamp layers of mlops (bench/peers.go: peerLayers) as a pyinfra
deploy, for the benchmark against the peers. Same steps, same end state:
after this deploy, `mlops plan` of the same layers on the host reports no
changes (the bench checks that after every fresh converge).

The download URLs and checksums come from the inventory's host data (the
bench's loopback download server).

    pyinfra -y --parallel 10 inventory.py deploy.py [--dry]
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server

HOME = "/home/ubuntu"
PATH_LINE = 'export PATH="$HOME/soft:$PATH" # mlops: docker_compose PATH'

# layer "apt": apt-get update, then git, make, wget. The cache counts as fresh
# for a day (pyinfra keeps its own stamp), so a converged host is not updated
# again.
apt.packages(
    name="apt packages",
    packages=["git", "make", "wget"],
    update=True,
    cache_time=86400,
    _sudo=True,
)

# layer "anaconda": the installer in batch mode, unless conda is there. The
# fact is read before any operation runs, as pyinfra does with facts used in
# deploy code.
if not host.get_fact(File, path=f"{HOME}/anaconda3/bin/conda"):
    files.download(
        name="download the anaconda installer",
        src=host.data.anaconda_url,
        dest="/tmp/anaconda-installer.sh",
        sha256sum=host.data.anaconda_sha256,
    )
    server.shell(
        name="install anaconda",
        commands=[
            f"bash /tmp/anaconda-installer.sh -b -p {HOME}/anaconda3",
            "rm -f /tmp/anaconda-installer.sh",
        ],
    )

# layer "docker": docker.io, and ubuntu in group docker.
apt.packages(name="docker.io", packages=["docker.io"], _sudo=True)
server.group(name="group docker", group="docker", _sudo=True)
server.user(name="ubuntu in group docker", user="ubuntu", groups=["docker"], append=True, _sudo=True)

# layer "docker_compose": the binary in ~/soft, one PATH line in ~/.bashrc.
files.directory(name="~/soft", path=f"{HOME}/soft", mode="755")
files.download(
    name="docker-compose",
    src=host.data.compose_url,
    dest=f"{HOME}/soft/docker-compose",
    sha256sum=host.data.compose_sha256,
    mode="755",
)
files.line(
    name="PATH line in ~/.bashrc",
    path=f"{HOME}/.bashrc",
    line=r"# mlops: docker_compose PATH$",
    replace=PATH_LINE,
    ensure_newline=True,
)

# layer "file": ~/.config/mlops/env.
files.directory(name="~/.config/mlops", path=f"{HOME}/.config/mlops", mode="755")
files.put(
    name="mlflow env file",
    src=StringIO("MLFLOW_TRACKING_URI=http://localhost:5000\n"),
    dest=f"{HOME}/.config/mlops/env",
    mode="644",
)
