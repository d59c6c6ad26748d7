# The MLOps Zoomcamp development machine: an EC2 instance with Anaconda,
# Docker and docker-compose, as the course sets it up by hand.
#
#   mlops plan      # what would change, in the cloud and on the machine
#   mlops apply     # make it so
#   mlops destroy   # remove it all

variable "region" { default = "eu-west-1" }
variable "instance_type" {
  type        = string
  default     = "t2.xlarge"
  description = "EC2 instance type"
}
variable "ssh_host" { default = "" } # "" = the instance's public IP
variable "ssh_port" { default = 22 }
variable "running" {
  default     = true
  description = "false stops the instance for the night (mlops apply -var running=false); true starts it again"
}

# Where the software comes from. The defaults are the course's downloads; the
# demo points them at a local server.
variable "anaconda_url" {
  default = "https://repo.anaconda.com/archive/Anaconda3-2022.05-Linux-x86_64.sh"
}
variable "anaconda_sha256" {
  default     = ""
  description = "sha256 of the installer; checked on the machine before it runs"
}
variable "compose_url" {
  default = "https://github.com/docker/compose/releases/download/v2.5.0/docker-compose-linux-x86_64"
}
variable "compose_sha256" { default = "" }

locals { name = "mlops-zoomcamp" }

provider "aws" {
  region = var.region
  # profile  = "default"               # optional: AWS shared config profile
  # endpoint = "http://127.0.0.1:5000" # optional: an EC2/S3-compatible endpoint (moto, LocalStack)
}

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*" # newest match wins
}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem" # generated (ed25519, mode 0600) if missing; only the public key leaves the machine
}

resource "aws_security_group" "ssh" {
  name        = "${local.name}-ssh"
  description = "SSH in"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "mlops_zoomcamp" {
  ami             = data.aws_ami.ubuntu.id
  instance_type   = var.instance_type
  key_pair        = aws_key_pair.razer.name
  security_groups = [aws_security_group.ssh.id]
  disk_gb         = 30
  tags            = { Name = local.name }
  running         = var.running

  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host != "" ? var.ssh_host : self.public_ip
    port        = var.ssh_port
    alias       = "mlops-zoomcamp" # ssh mlops-zoomcamp, VS Code Remote-SSH: kept in ~/.ssh/mlops_config
  }

  # The course's manual steps, in order.
  layer "apt" {
    update   = true
    packages = ["git", "make", "wget"]
  }
  layer "anaconda" {
    installer = var.anaconda_url
    sha256    = var.anaconda_sha256 != "" ? var.anaconda_sha256 : null
    prefix    = "~/anaconda3"
  }
  layer "docker" {
    users = ["ubuntu"] # added to the docker group, effective for the following layers
  }
  layer "docker_compose" {
    version = "v2.5.0"
    url     = var.compose_url
    sha256  = var.compose_sha256 != "" ? var.compose_sha256 : null
    dir     = "~/soft"
    path    = true # one PATH line in ~/.bashrc, never duplicated
  }
  # The course's check that Docker works: the user, without sudo and without
  # logging in again, runs a container (the first run pulls hello-world).
  layer "shell" {
    name  = "docker-works"
    check = "docker image inspect hello-world >/dev/null" # the daemon answers the user, and the image is there
    run   = "docker run --rm hello-world"
  }

  lifecycle { prevent_destroy = false }
}

output "public_ip" { value = aws_instance.mlops_zoomcamp.public_ip }
output "ssh_command" {
  # A stopped instance has no public IP (mlops apply -var running=false).
  value = (aws_instance.mlops_zoomcamp.public_ip == null ? "the instance is stopped"
  : "ssh -i ${aws_key_pair.razer.private_key_file} ubuntu@${aws_instance.mlops_zoomcamp.public_ip}")
}
