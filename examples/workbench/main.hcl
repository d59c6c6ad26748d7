# A workbench whose work outlives the machine: notebooks, datasets and
# environments live on a data volume mounted at ~/work. A new image, a new
# user_data or anything else that replaces the instance is refused until
# you name it (mlops apply -replace=aws_instance.workbench); the replacement
# then terminates the old instance, keeps the volume and mounts it on the
# new one.
#
#   mlops apply                                    # creates, formats (blank only), mounts
#   mlops apply -replace=aws_instance.workbench    # a new machine, the same ~/work
#   mlops destroy                                  # lists the volume with its size first

variable "region" { default = "eu-west-1" }
variable "ssh_host" { default = "" } # "" = the instance's public IP

provider "aws" { region = var.region }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

resource "aws_key_pair" "me" {
  name             = "workbench"
  private_key_file = "~/.ssh/workbench.pem"
}

resource "aws_instance" "workbench" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.large"
  key_pair      = aws_key_pair.me.name
  disk_gb       = 30

  data_volume {
    size_gb = 100      # grows in place; never shrinks
    mount   = "~/work" # ext4, by UUID with nofail, owned by ubuntu
  }

  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.me.private_key_file
    host        = var.ssh_host != "" ? var.ssh_host : self.public_ip
  }

  # Layers run after the volume is mounted.
  layer "apt" {
    packages = ["git", "python3-venv"]
  }
  layer "shell" {
    name  = "venv"
    check = "test -x ~/work/venv/bin/python"
    run   = "python3 -m venv ~/work/venv"
  }
}

output "data_volume" { value = aws_instance.workbench.data_volume.id }
