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
__mlops_t0=$SECONDS
until [ -S /var/run/docker.sock ] && __mlops_root docker version >/dev/null 2>&1; do
  if [ $((SECONDS - __mlops_t0)) -ge 60 ]; then
    echo "the docker daemon does not answer 60 s after it was started" >&2
    exit 1
  fi
  sleep 0.5
done
__mlops_root groupadd -f docker
__mlops_root usermod -aG docker 'ubuntu'
echo 'added ubuntu to group docker'
docker --version
