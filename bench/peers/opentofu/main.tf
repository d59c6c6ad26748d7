# The zoomcamp layers of mlops (bench/peers.go: peerLayers) with OpenTofu, for
# the benchmark against the peers: one terraform_data resource per host whose
# remote-exec provisioner runs converge.sh.tftpl, the same steps as the
# layers. OpenTofu runs a provisioner when the resource is created and never
# again, so a plan after that compares the configuration with the state and
# does not look at the host at all; there is no check mode.
#
#   TF_VAR_hosts='[{"addr":"127.0.0.2","port":2222,"host_key":"ssh-ed25519 ..."}]' \
#   TF_VAR_private_key_file=... TF_VAR_anaconda_url=... (and the rest) tofu apply

variable "hosts" {
  type = list(object({
    addr     = string
    port     = number
    host_key = string
  }))
}
variable "user" { default = "ubuntu" }
variable "private_key_file" { type = string }
variable "anaconda_url" { type = string }
variable "anaconda_sha256" { type = string }
variable "compose_url" { type = string }
variable "compose_sha256" { type = string }

locals {
  script = templatefile("${path.module}/converge.sh.tftpl", {
    anaconda_url    = var.anaconda_url
    anaconda_sha256 = var.anaconda_sha256
    compose_url     = var.compose_url
    compose_sha256  = var.compose_sha256
  })
}

resource "terraform_data" "host" {
  for_each = { for i, h in var.hosts : tostring(i) => h }

  # A change of the steps replaces the resource, which runs them again.
  triggers_replace = sha256(local.script)

  connection {
    type        = "ssh"
    host        = each.value.addr
    port        = each.value.port
    user        = var.user
    private_key = file(var.private_key_file)
    host_key    = each.value.host_key
    timeout     = "30s"
  }

  provisioner "remote-exec" {
    inline = [local.script]
  }
}
