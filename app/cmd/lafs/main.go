// Command lafs is LAFS Sync's headless daemon and command-line tool. It
// builds with CGO_ENABLED=0.
//
// LAFS_CPUPROFILE=FILE writes a CPU profile of the whole run to FILE, %p
// in it replaced by the process ID (for finding where a benchmark's time
// goes; off unless set).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/app/cli"
)

func main() {
	if p := os.Getenv("LAFS_CPUPROFILE"); p != "" {
		f, err := os.Create(strings.ReplaceAll(p, "%p", strconv.Itoa(os.Getpid())))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "lafs: LAFS_CPUPROFILE: %v\n", err)
			os.Exit(2)
		}
		code := cli.Main(os.Args[1:], os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(code)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
