// Command hello is the test world's hello-world image: the program that
// `docker run --rm hello-world` runs in a sandbox host. It is built static
// (CGO_ENABLED=0), so the image holds nothing else.
package main

import "os"

const greeting = `
Hello from Docker!
This message shows that your installation appears to be working correctly.
(mlops test world: a stand-in for Docker Hub's hello-world image, pulled
from the test world's registry on 127.0.0.1.)
`

func main() {
	os.Stdout.WriteString(greeting)
}
