package render

import (
	"fmt"
	"image"
	"io/fs"
	"strconv"
)

// Sizes, in pixels, of each kind of output.
var (
	// AppSizes covers the hicolor theme (16..512), Windows (16..256) and the
	// macOS icns (16..1024).
	AppSizes = []int{16, 22, 24, 32, 48, 64, 128, 256, 512, 1024}
	// ICOSizes are the entries of the Windows .ico.
	ICOSizes = []int{16, 24, 32, 48, 64, 128, 256}
	// TraySizes are the tray and menu-bar sizes: 16 (Windows at 100%), 22
	// (Linux panels, the macOS menu bar in points), 32 (Windows at 200%) and
	// 44 (the macOS menu bar at 2x).
	TraySizes = []int{16, 22, 32, 44}
)

// TrayStates names the tray states in display order; each has a source
// tray-NAME.svg (colour) and tray-NAME-template.svg (black and alpha only,
// for the macOS menu bar, which tints it to the bar's appearance).
var TrayStates = []string{"uptodate", "syncing", "paused", "offline", "error", "attention"}

// SmallAppMax is the largest app size drawn from app-small.svg, a
// simplified mark for sizes where the full one's details blur together.
const SmallAppMax = 32

// Output file names, relative to the icons directory.
const (
	ICOName  = "lafssync.ico"
	ICNSName = "lafssync.icns"
)

// AppPNGName is the file name of the app icon at size px.
func AppPNGName(size int) string { return "png/app-" + strconv.Itoa(size) + ".png" }

// TrayPNGName is the file name of the tray icon for state at size px.
func TrayPNGName(state string, template bool, size int) string {
	name := "png/tray-" + state
	if template {
		name += "-template"
	}
	return name + "-" + strconv.Itoa(size) + ".png"
}

// Set renders every output file from the sources in src (icons/src) and
// returns them by name (see AppPNGName, TrayPNGName, ICOName, ICNSName).
func Set(src fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	app, err := fs.ReadFile(src, "app.svg")
	if err != nil {
		return nil, err
	}
	small, err := fs.ReadFile(src, "app-small.svg")
	if err != nil {
		return nil, err
	}
	appImgs := map[int]*image.NRGBA{}
	appPNGs := map[int][]byte{}
	for _, size := range AppSizes {
		svg, name := app, "app.svg"
		if size <= SmallAppMax {
			svg, name = small, "app-small.svg"
		}
		img, data, err := render(svg, size)
		if err != nil {
			return nil, fmt.Errorf("%s at %d px: %w", name, size, err)
		}
		appImgs[size], appPNGs[size] = img, data
		out[AppPNGName(size)] = data
	}
	var icoImgs []*image.NRGBA
	for _, size := range ICOSizes {
		icoImgs = append(icoImgs, appImgs[size])
	}
	if out[ICOName], err = ICO(icoImgs); err != nil {
		return nil, err
	}
	if out[ICNSName], err = ICNS(appPNGs); err != nil {
		return nil, err
	}
	for _, state := range TrayStates {
		for _, template := range []bool{false, true} {
			name := "tray-" + state + ".svg"
			if template {
				name = "tray-" + state + "-template.svg"
			}
			svg, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, err
			}
			for _, size := range TraySizes {
				_, data, err := render(svg, size)
				if err != nil {
					return nil, fmt.Errorf("%s at %d px: %w", name, size, err)
				}
				out[TrayPNGName(state, template, size)] = data
			}
		}
	}
	return out, nil
}

func render(svg []byte, size int) (*image.NRGBA, []byte, error) {
	img, err := Rasterize(svg, size)
	if err != nil {
		return nil, nil, err
	}
	data, err := EncodePNG(img)
	return img, data, err
}
