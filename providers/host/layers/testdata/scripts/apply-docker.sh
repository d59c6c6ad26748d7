__mlops_require_root
__mlops_wait_cloud_init
__mlops_apt_lists
__mlops_apt_get install -y 'docker.io'
__mlops_root groupadd -f docker
__mlops_root usermod -aG docker 'ubuntu'
echo 'added ubuntu to group docker'
__mlops_root usermod -aG docker 'alice'
echo 'added alice to group docker'
docker --version
