// Package icons embeds LAFS Sync's icons: the application icon and one tray
// icon per sync state, in colour and as a monochrome macOS template.
//
// The sources are SVGs in src/; `make icons` renders them (icons/render,
// pure Go) into png/, lafssync.ico and lafssync.icns, which are committed so
// that building the apps needs no renderer. TestGeneratedUpToDate fails when
// the committed files no longer match the sources. See README.md.
package icons

import (
	"embed"
	"strconv"
)

// The app icon up to 256 px and every tray icon; the 512 and 1024 px PNGs,
// the .ico and the .icns are for packaging and stay out of the binaries.
//
//go:embed png/app-16.png png/app-22.png png/app-24.png png/app-32.png png/app-48.png
//go:embed png/app-64.png png/app-128.png png/app-256.png png/tray-*.png
var files embed.FS

// App256, App64 and App32 are the application icon as PNG.
var (
	App256 = mustRead("png/app-256.png")
	App64  = mustRead("png/app-64.png")
	App32  = mustRead("png/app-32.png")
)

// State is what a tray icon shows.
type State int

// The tray states, in the order the contact sheet shows them.
const (
	UpToDate  State = iota // every folder is in the grid
	Syncing                // uploading or downloading
	Paused                 // the user paused syncing
	Offline                // no storage server reachable
	Error                  // sync failed
	Attention              // something needs the user: a conflict, a full grid
)

// States lists every State.
var States = []State{UpToDate, Syncing, Paused, Offline, Error, Attention}

var stateNames = [...]string{"uptodate", "syncing", "paused", "offline", "error", "attention"}

// String is the state's name as used in the icon file names.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// Tray is the colour tray icon for s as a 32 px PNG (Windows and Linux
// panels scale it to 16..24 px; 32 is an exact 2x of the 16 px design).
// It is nil for an unknown state.
func Tray(s State) []byte { return TrayPNG(s, 32, false) }

// TrayTemplate is the monochrome template icon for s as a 44 px PNG (the
// macOS menu bar's 22 points at 2x): black and alpha only, which macOS tints
// for light and dark menu bars. It is nil for an unknown state.
func TrayTemplate(s State) []byte { return TrayPNG(s, 44, true) }

// TraySizes are the pixel sizes TrayPNG has.
var TraySizes = []int{16, 22, 32, 44}

// TrayPNG is the tray icon for s at size px (one of TraySizes), in colour or
// as a template; nil if there is no such icon.
func TrayPNG(s State, size int, template bool) []byte {
	if s < 0 || int(s) >= len(stateNames) {
		return nil
	}
	name := "png/tray-" + stateNames[s]
	if template {
		name += "-template"
	}
	b, err := files.ReadFile(name + "-" + strconv.Itoa(size) + ".png")
	if err != nil {
		return nil
	}
	return b
}

// AppSizes are the pixel sizes AppPNG has.
var AppSizes = []int{16, 22, 24, 32, 48, 64, 128, 256}

// AppPNG is the application icon at size px (one of AppSizes); nil if
// there is no such size.
func AppPNG(size int) []byte {
	b, err := files.ReadFile("png/app-" + strconv.Itoa(size) + ".png")
	if err != nil {
		return nil
	}
	return b
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("icons: " + name + " is not embedded: " + err.Error()) // a build defect, not input
	}
	return b
}
