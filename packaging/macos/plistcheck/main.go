// Command plistcheck checks a built LAFS Sync.app bundle (see package macos):
//
//	go run ./packaging/macos/plistcheck [-version V] "path/LAFS Sync.app"
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lafssync/lafssync/packaging/macos"
)

func main() {
	version := flag.String("version", "", "the CFBundleVersion the bundle must have")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: plistcheck [-version V] BUNDLE.app")
		os.Exit(2)
	}
	info, err := macos.CheckBundle(flag.Arg(0), *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plistcheck:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s %s (%s), executable %s, LSUIElement true, LaunchAgent %s\n",
		flag.Arg(0), info.Identifier, info.Version, info.ShortVersion, info.Executable, macos.AgentLabel)
}
