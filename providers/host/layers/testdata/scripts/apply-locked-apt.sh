__mlops_require_root
__mlops_wait_cloud_init
__mlops_apt_lists
__mlops_apt_get update
if [ -z "$(apt-cache show 'git=1:2.34.1-1ubuntu1.11' 2>/dev/null)" ]; then
  echo 'the lock file mlops.lock.hcl pins package git at version 1:2.34.1-1ubuntu1.11, which the package mirror no longer has; mlops apply -upgrade installs the version it has now and records it' >&2
  exit 1
fi
__mlops_apt_get install -y 'git=1:2.34.1-1ubuntu1.11' 'make' 'libc6=2.35-0ubuntu3.1'
