package render

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// SheetName is where `make icons` writes the contact sheet, relative to
// the repository root.
const SheetName = "docs/screenshots/icons.png"

// Backgrounds the sheet (and the icons' contrast test) puts the tray icons
// on: a white panel and a near-black one.
var (
	LightPanel = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	DarkPanel  = color.NRGBA{0x1c, 0x1c, 0x1c, 0xff}
)

const (
	zoom   = 4
	gap    = 12
	labelW = 84
)

var sheetSizes = []int{16, 22, 32}

// Sheet composes a contact sheet from a rendered Set: every tray state, in
// colour and as a template, at 16, 22 and 32 px magnified 4x
// nearest-neighbour and at 1x, on a light and a dark panel, then the app
// icon's small sizes. Templates are shown black on the light panel and white
// on the dark one, as macOS tints them.
func Sheet(set map[string][]byte) ([]byte, error) {
	decode := func(name string) (*image.NRGBA, error) {
		data, ok := set[name]
		if !ok {
			return nil, fmt.Errorf("sheet: %s not rendered", name)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("sheet: %s: %w", name, err)
		}
		n := image.NewNRGBA(img.Bounds())
		draw.Draw(n, n.Bounds(), img, image.Point{}, draw.Src)
		return n, nil
	}
	groupW := 0
	for _, s := range sheetSizes {
		groupW += s*zoom + gap
	}
	smallW := 0
	for _, s := range sheetSizes {
		smallW += s + gap/2
	}
	rowH := sheetSizes[len(sheetSizes)-1]*zoom + gap
	width := labelW + 2*groupW + 2*smallW + gap
	panelH := 24 + len(TrayStates)*rowH
	appH := 24 + 32*zoom + 2*gap
	sheet := image.NewNRGBA(image.Rect(0, 0, width, 2*panelH+appH))

	for p, bg := range []color.NRGBA{LightPanel, DarkPanel} {
		top := p * panelH
		draw.Draw(sheet, image.Rect(0, top, width, top+panelH), &image.Uniform{bg}, image.Point{}, draw.Src)
		fg := color.NRGBA{0x20, 0x20, 0x20, 0xff}
		if p == 1 {
			fg = color.NRGBA{0xe0, 0xe0, 0xe0, 0xff}
		}
		x := labelW
		for _, h := range []string{"colour 16 22 32 (4x)", "template 16 22 32 (4x)"} {
			label(sheet, x, top+16, h, fg)
			x += groupW
		}
		label(sheet, x, top+16, "1x", fg)
		for r, state := range TrayStates {
			y := top + 24 + r*rowH
			label(sheet, 6, y+rowH/2, state, fg)
			x := labelW
			for _, template := range []bool{false, true} {
				for _, s := range sheetSizes {
					img, err := decode(TrayPNGName(state, template, s))
					if err != nil {
						return nil, err
					}
					if template && p == 1 {
						img = tint(img, color.NRGBA{0xff, 0xff, 0xff, 0xff})
					}
					put(sheet, magnify(img, zoom), x, y)
					x += s*zoom + gap
				}
			}
			for _, template := range []bool{false, true} {
				for _, s := range sheetSizes {
					img, err := decode(TrayPNGName(state, template, s))
					if err != nil {
						return nil, err
					}
					if template && p == 1 {
						img = tint(img, color.NRGBA{0xff, 0xff, 0xff, 0xff})
					}
					put(sheet, img, x, y)
					x += s + gap/2
				}
			}
		}
	}
	top := 2 * panelH
	draw.Draw(sheet, image.Rect(0, top, width, top+appH), &image.Uniform{color.NRGBA{0xe8, 0xe8, 0xe8, 0xff}}, image.Point{}, draw.Src)
	label(sheet, 6, top+16, "app 16 22 24 32 (4x), 48 64 128 (1x)", color.NRGBA{0x20, 0x20, 0x20, 0xff})
	x := 6
	for _, s := range []int{16, 22, 24, 32, 48, 64, 128} {
		img, err := decode(AppPNGName(s))
		if err != nil {
			return nil, err
		}
		if s <= 32 {
			img = magnify(img, zoom)
		}
		put(sheet, img, x, top+24+gap)
		x += img.Bounds().Dx() + gap
	}
	return EncodePNG(sheet)
}

func magnify(img *image.NRGBA, k int) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < b.Dy()*k; y++ {
		for x := 0; x < b.Dx()*k; x++ {
			out.SetNRGBA(x, y, img.NRGBAAt(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}

// tint keeps img's alpha and replaces its colour with c.
func tint(img *image.NRGBA, c color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = c.R, c.G, c.B, img.Pix[i+3]
	}
	return out
}

func put(dst *image.NRGBA, img *image.NRGBA, x, y int) {
	r := img.Bounds().Sub(img.Bounds().Min).Add(image.Pt(x, y))
	draw.Draw(dst, r, img, img.Bounds().Min, draw.Over)
}

func label(dst *image.NRGBA, x, y int, s string, c color.NRGBA) {
	d := font.Drawer{Dst: dst, Src: &image.Uniform{c}, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
