// Command lafs is LAFS Sync's headless daemon and command-line tool. It
// builds with CGO_ENABLED=0.
package main

import (
	"os"

	"github.com/lafssync/lafssync/app/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
