variable "region" {
default = "eu-west-1"
}

provider "aws" {
  region = var.region
}

resource "aws_key_pair" "razer" {
  name             = "razer"
  private_key_file = "~/.ssh/razer.pem"
}

resource "aws_security_group" "ssh" {
  name = "mlops-ssh"
  ingress {
    port        = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "dev" {
  ami = "ami-12345678"
  instance_type      = "t3.xlarge"
  key_pair = aws_key_pair.razer.name
}
