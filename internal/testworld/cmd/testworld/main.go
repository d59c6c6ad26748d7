// Command testworld starts the local test world for the demo: a moto server
// (EC2 and S3), sandbox SSH hosts and the download server, all on
// 127.0.0.0/8. It writes the settings a shell needs to a file of
// `export K=V` lines, prints "ready", and runs until it gets SIGINT or
// SIGTERM, then stops everything.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlops-dev/mlops/internal/shellword"
	"github.com/mlops-dev/mlops/internal/testworld"
)

func main() {
	os.Exit(run())
}

func run() int {
	hosts := flag.Int("hosts", 1, "number of sandbox SSH hosts")
	envFile := flag.String("env", "", "write export lines to this file")
	flag.Parse()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "testworld: "+format+"\n", args...) }

	moto, err := testworld.StartMotoServer()
	if err != nil {
		logf("moto: %v", err)
		return 1
	}
	defer moto.Stop()
	dl, err := testworld.StartDownloadsServer("127.0.0.1:0")
	if err != nil {
		logf("downloads: %v", err)
		return 1
	}
	defer dl.Close()
	var stopHosts func()
	var hs []*testworld.Host
	if *hosts > 0 {
		hs, stopHosts, err = testworld.StartHostsForDemo(*hosts, logf)
		if err != nil {
			logf("hosts: %v", err)
			return 1
		}
		defer stopHosts()
	}

	var lines []string
	add := func(k, v string) { lines = append(lines, fmt.Sprintf("export %s=%s", k, shellword.Quote(v))) }
	for _, kv := range moto.Env() {
		k, v, _ := strings.Cut(kv, "=")
		add(k, v)
	}
	add("MLOPS_TEST_LOOPBACK_ONLY", "1")
	add("ANACONDA_URL", dl.URL(testworld.DownloadAnaconda))
	add("ANACONDA_SHA256", dl.SHA256(testworld.DownloadAnaconda))
	add("COMPOSE_URL", dl.URL(testworld.DownloadCompose))
	add("COMPOSE_SHA256", dl.SHA256(testworld.DownloadCompose))
	for i, h := range hs {
		n := strconv.Itoa(i)
		add("SANDBOX_HOST_"+n, h.Addr)
		add("SANDBOX_PORT_"+n, strconv.Itoa(h.Port))
		add("SANDBOX_KEY_"+n, h.KeyFile)
		add("SANDBOX_ROOT_"+n, h.Root)
	}
	out := strings.Join(lines, "\n") + "\n"
	if *envFile != "" {
		if err := os.WriteFile(*envFile, []byte(out), 0o600); err != nil {
			logf("%v", err)
			return 1
		}
	} else {
		fmt.Print(out)
	}
	logf("ready: moto on %s, %d sandbox host(s), downloads on %s", moto.Endpoint(), len(hs), dl.BaseURL())
	fmt.Fprintln(os.Stderr, "ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	logf("stopping")
	return 0
}
