// Package icons embeds LAFS Sync's icons, drawn by gen/ (go generate).
package icons

import _ "embed"

//go:generate go run ./gen .

// App256, App64 and App32 are the application icon as PNG.
var (
	//go:embed lafssync-256.png
	App256 []byte
	//go:embed lafssync-64.png
	App64 []byte
	//go:embed lafssync-32.png
	App32 []byte
)
