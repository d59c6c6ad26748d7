__mlops_require_root
__mlops_wait_cloud_init
__mlops_apt_lists
__mlops_apt_get update
__mlops_apt_get install -y 'git' 'make' 'libc6=2.35-0ubuntu3.1'
