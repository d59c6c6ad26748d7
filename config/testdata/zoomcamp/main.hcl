variable "region"        { default = "eu-west-1" }
variable "instance_type" {
  type        = string
  default     = "t2.xlarge"
  description = "EC2 instance type"
}
variable "ssh_host" { default = "" }   # "" = the instance's public IP
locals { name = "mlops-zoomcamp" }
provider "aws" {
  region   = var.region
  # profile  = "default"
  # endpoint = "http://127.0.0.1:5000"
}
data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}
resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
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
  ssh {
    user        = "ubuntu"
    private_key = aws_key_pair.razer.private_key_file
    host        = var.ssh_host != "" ? var.ssh_host : self.public_ip
    port        = 22
  }
  layer "apt" {
    update   = true
    packages = ["git", "make"]
  }
  layer "shell" {
    name  = "docker-works"
    check = "docker info >/dev/null 2>&1"
    run   = "sudo systemctl start docker"
  }
  lifecycle { prevent_destroy = false }
  depends_on = [aws_security_group.ssh]
}
resource "host" "lab_gpu" {          # an existing machine: schema.Resource with SSH=true
  ssh {
    host        = "gpu.lab.example"
    user        = "me"
    private_key = "~/.ssh/id_ed25519"
  }
  layer "docker" { users = ["me"] }
}
output "public_ip" { value = aws_instance.mlops_zoomcamp.public_ip }
mlops {
  backend "s3" {
    bucket = "team-mlops-state"
    key    = "zoomcamp/state.json"
    region = "eu-west-1"
    # endpoint = "..."
  }
}
