// Package render turns LAFS Sync's SVG icon sources (icons/src) into the
// files each platform wants: PNGs at fixed sizes, a Windows .ico and a macOS
// .icns, plus a contact sheet for looking at the tray icons.
//
// Rasterizing is pure Go (srwiley/oksvg + rasterx), so `make icons` needs no
// system packages. Output is deterministic: the same sources, Go toolchain
// and GOARCH give byte-identical files (Go's PNG encoder writes no time or
// text chunks; maps are never iterated in output order). Architectures that
// fuse multiply-adds (arm64) may differ from amd64 in the last bit of a few
// anti-aliased pixels; amd64 is the reference for the committed files.
//
// Only the SVG subset oksvg understands is accepted (paths, basic shapes,
// transforms, gradients, opacity; no text, masks, clip paths or filters) and
// the sources are read in strict mode so an unsupported element is an error
// rather than silently missing. oksvg always fills with the nonzero rule:
// holes are subpaths drawn in the opposite direction.
//
// It deliberately does not install icons anywhere; packaging/ does that.
package render
