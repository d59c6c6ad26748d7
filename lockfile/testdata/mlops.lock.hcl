# mlops.lock.hcl: what this configuration resolved, written by mlops apply.
# Commit it: plan and apply use these values, so a teammate or a new machine
# gets the same image, package versions and downloads. Do not edit it by hand;
# mlops plan -upgrade shows what a fresh resolution would change, and
# mlops apply -upgrade records it.

data "aws_ami" "ubuntu" {
  architecture     = "x86_64"
  creation_date    = "2026-10-01T08:15:00.000Z"
  id               = "ami-0a1b2c3d4e5f60718"
  image_name       = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261001"
  most_recent      = true
  name             = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
  owner_id         = "099720109477"
  owners           = ["099720109477"]
  region           = "eu-west-1"
  root_device_name = "/dev/sda1"
}

download "https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64" {
  sha256 = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
}

download "https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh" {
  sha256 = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
}

layer "aws_instance.mlops_zoomcamp.layer.apt" {
  packages = {
    git          = "1:2.34.1-1ubuntu1.11"
    "libstdc++6" = "12.3.0-1ubuntu1~22.04"
    make         = "4.3-4.1build1"
    wget         = "1.21.2-2ubuntu1"
  }
}

layer "aws_instance.mlops_zoomcamp.layer.docker" {
  packages = {
    "docker.io" = "24.0.7-0ubuntu2~22.04.1"
  }
}
