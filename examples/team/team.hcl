# Who is on the team: a box per member, and everyone's public key.
# Adding a person is one line here (their ~/.ssh/id_ed25519.pub); the next
# mlops apply creates their box and lets them in. Removing a line destroys
# exactly that person's box and removes their key from the others.

variable "team" {
  description = "member name => public key (authorized_keys format)"
  default = {
    alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHd8dHjcgZREejx+RWgBWCy/fMjAVfhBklw4InS3toE alice@laptop"
    bob   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDNFiw5C51uCVSJ1l+g95aXf3MHS5NgxjjlHwBNSO5h6 bob@laptop"
    carol = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKaV8FAvRpg6mJ6gYP6mdDADxXYg9yxNUINGAgPU6M8d carol@laptop"
  }
}
