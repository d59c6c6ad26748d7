__mlops_require_root
__mlops_wait_cloud_init
__mlops_apt_lists
if [ -z "$(apt-cache show 'docker.io=24.0.7-0ubuntu2~22.04.1' 2>/dev/null)" ]; then
  echo 'the lock file mlops.lock.hcl pins package docker.io at version 24.0.7-0ubuntu2~22.04.1, which the package mirror no longer has; mlops apply -upgrade installs the version it has now and records it' >&2
  exit 1
fi
__mlops_apt_get install -y 'docker.io=24.0.7-0ubuntu2~22.04.1'
if [ -d /run/systemd/system ]; then
  __mlops_root systemctl enable --now docker
else
  __mlops_root service docker start
fi
__mlops_i=0
until __mlops_root docker version >/dev/null 2>&1; do
  __mlops_i=$((__mlops_i + 1))
  if [ "$__mlops_i" -ge 150 ]; then
    echo "the docker daemon does not answer 30 s after it was started" >&2
    exit 1
  fi
  sleep 0.2
done
__mlops_root groupadd -f docker
__mlops_root usermod -aG docker 'ubuntu'
echo 'added ubuntu to group docker'
docker --version
