__mlops_require_root
__mlops_wait_cloud_init
__mlops_apt_lists
if [ -z "$(apt-cache show 'docker.io=24.0.7-0ubuntu2~22.04.1' 2>/dev/null)" ]; then
  echo 'the lock file mlops.lock.hcl pins package docker.io at version 24.0.7-0ubuntu2~22.04.1, which the package mirror no longer has; mlops apply -upgrade installs the version it has now and records it' >&2
  exit 1
fi
__mlops_apt_get install -y 'docker.io=24.0.7-0ubuntu2~22.04.1'
__mlops_root groupadd -f docker
__mlops_root usermod -aG docker 'ubuntu'
echo 'added ubuntu to group docker'
docker --version
