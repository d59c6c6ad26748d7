# A course cohort or a small team: one box per member of var.team (team.hcl),
# each member logging in with their own key. Commit this directory (with
# mlops.lock.hcl) and share the state in S3; see "Teams" in the README.

variable "region" { default = "eu-west-1" }
variable "ssh_host" { default = "" } # "" = each instance's public IP

provider "aws" { region = var.region }

# One state for everyone (create the bucket once, with versioning on):
# mlops {
#   backend "s3" {
#     bucket = "acme-mlops-state"
#     key    = "zoomcamp-cohort/state.json"
#     region = "eu-west-1"
#   }
# }

data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}

# The key the instances are launched with: generated on the laptop of the
# first member who applies. Nobody else needs it: mlops keeps the key pair
# when the file is missing, and each member logs in with their own key.
resource "aws_key_pair" "launch" {
  name             = "zoomcamp-cohort"
  private_key_file = "~/.ssh/zoomcamp-cohort.pem"
}

resource "aws_security_group" "ssh" {
  name = "zoomcamp-cohort-ssh"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "box" {
  for_each        = var.team
  ami             = data.aws_ami.ubuntu.id
  instance_type   = "t3.large"
  key_pair        = aws_key_pair.launch.name
  security_groups = [aws_security_group.ssh.id]
  disk_gb         = 30
  tags            = { Name = "zoomcamp-${each.key}", Owner = each.key }

  ssh {
    user            = "ubuntu"
    private_key     = aws_key_pair.launch.private_key_file
    host            = var.ssh_host != "" ? var.ssh_host : self.public_ip
    alias           = "zoomcamp-${each.key}"          # ssh zoomcamp-bob
    authorized_keys = [each.value, var.team["alice"]] # the member, and alice who runs the course
  }

  layer "apt" {
    packages = ["git", "make"]
  }
  layer "docker" {
    users = ["ubuntu"]
  }
}

output "boxes" { value = { for name, b in aws_instance.box : name => b.public_ip } }
output "ids" { value = aws_instance.box[*].id }
