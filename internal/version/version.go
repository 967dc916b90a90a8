// Package version holds the program version, set at build time with
// -ldflags "-X github.com/lafssync/lafssync/internal/version.Version=…".
package version

// Version is the release version ("dev" in development builds).
var Version = "0.1.0-dev"

// Name is the product name shown to people.
const Name = "LAFS Sync"
