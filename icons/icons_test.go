package icons

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/lafssync/lafssync/icons/render"
)

// The committed PNGs, .ico, .icns and contact sheet are what `make icons`
// makes from src/ today. On amd64 (the reference) the bytes must match; on
// other architectures fused multiply-adds may move an anti-aliased pixel by
// a step or two, so PNGs are compared pixel by pixel with that tolerance.
func TestGeneratedUpToDate(t *testing.T) {
	set, err := render.Set(os.DirFS("src"))
	if err != nil {
		t.Fatal(err)
	}
	exact := runtime.GOARCH == "amd64"
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		got, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Errorf("%s: %v; run `make icons` and commit the result", name, err)
			continue
		}
		switch {
		case bytes.Equal(got, set[name]):
		case exact:
			t.Errorf("icons/%s differs from what icons/src renders to; run `make icons` and commit the result", name)
		case filepath.Ext(name) == ".png":
			if d := maxPixelDiff(t, got, set[name]); d > 3 {
				t.Errorf("icons/%s: pixels differ by up to %d from a fresh render; run `make icons`", name, d)
			}
		}
	}
	committed, err := filepath.Glob("png/*.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range committed {
		if _, ok := set[filepath.ToSlash(path)]; !ok {
			t.Errorf("icons/%s is no longer rendered from src; run `make icons` (it removes it)", path)
		}
	}
	if !exact {
		return
	}
	sheet, err := render.Sheet(set)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(render.SheetName)))
	if err != nil || !bytes.Equal(got, sheet) {
		t.Errorf("%s is stale (%v); run `make icons` and commit the result", render.SheetName, err)
	}
}

func TestICO(t *testing.T) {
	data, err := os.ReadFile(render.ICOName)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(data) < 6 || le.Uint16(data[0:]) != 0 || le.Uint16(data[2:]) != 1 {
		t.Fatalf("%s: not an icon file header: % x", render.ICOName, data[:min(6, len(data))])
	}
	n := int(le.Uint16(data[4:]))
	var sizes []int
	for i := range n {
		e := data[6+16*i:]
		w, h := int(e[0]), int(e[1])
		if w == 0 {
			w = 256
		}
		if h == 0 {
			h = 256
		}
		length, offset := int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
		if offset+length > len(data) {
			t.Fatalf("entry %d: %d bytes at %d run past the end (%d)", i, length, offset, len(data))
		}
		body := data[offset : offset+length]
		var img image.Image
		if bytes.HasPrefix(body, []byte("\x89PNG")) {
			if img, err = png.Decode(bytes.NewReader(body)); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		} else {
			img = decodeDIB(t, body)
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("entry %d: directory says %dx%d, image is %dx%d", i, w, h, b.Dx(), b.Dy())
		}
		// The entry is the app icon at that size, pixel for pixel.
		if d := maxImageDiff(img, decodePNG(t, AppPNG(w))); d != 0 {
			t.Errorf("entry %d (%d px) differs from png/app-%d.png by up to %d", i, w, w, d)
		}
		sizes = append(sizes, w)
	}
	if !slices.Equal(sizes, render.ICOSizes) {
		t.Errorf("ico sizes %v, want %v", sizes, render.ICOSizes)
	}
}

// decodeDIB reads a 32-bit BITMAPINFOHEADER icon entry (bottom-up BGRA
// rows and an AND mask).
func decodeDIB(t *testing.T, b []byte) image.Image {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 40 || le.Uint32(b) != 40 || le.Uint16(b[14:]) != 32 {
		t.Fatalf("DIB entry: want a 40-byte header and 32 bits per pixel")
	}
	w, h := int(le.Uint32(b[4:])), int(le.Uint32(b[8:]))/2
	mask := (w + 31) / 32 * 4 * h
	if len(b) != 40+w*h*4+mask {
		t.Fatalf("DIB entry %dx%d: %d bytes, want %d", w, h, len(b), 40+w*h*4+mask)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	px := b[40:]
	for y := range h {
		for x := range w {
			p := px[((h-1-y)*w+x)*4:]
			img.SetNRGBA(x, y, color.NRGBA{p[2], p[1], p[0], p[3]})
		}
	}
	return img
}

func TestICNS(t *testing.T) {
	data, err := os.ReadFile(render.ICNSName)
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	if len(data) < 8 || string(data[:4]) != "icns" || int(be.Uint32(data[4:])) != len(data) {
		t.Fatalf("%s: bad header or length", render.ICNSName)
	}
	want := map[string]int{"icp4": 16, "icp5": 32, "icp6": 64, "ic07": 128, "ic08": 256, "ic09": 512,
		"ic10": 1024, "ic11": 32, "ic12": 64, "ic13": 256, "ic14": 512}
	seen := map[string]bool{}
	for off := 8; off < len(data); {
		if off+8 > len(data) {
			t.Fatalf("truncated entry header at %d", off)
		}
		typ, n := string(data[off:off+4]), int(be.Uint32(data[off+4:]))
		if n < 8 || off+n > len(data) {
			t.Fatalf("entry %q at %d: length %d out of range", typ, off, n)
		}
		size, ok := want[typ]
		if !ok {
			t.Fatalf("unexpected entry type %q", typ)
		}
		img := decodePNG(t, data[off+8:off+n])
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("%s: %dx%d, want %d px", typ, b.Dx(), b.Dy(), size)
		}
		seen[typ] = true
		off += n
	}
	if len(seen) != len(want) {
		t.Errorf("icns has %d of the %d entry types", len(seen), len(want))
	}
}

// luma is the Rec. 709 luma of c composited over the opaque bg, in 0..1.
func luma(c color.NRGBA, bg color.NRGBA) float64 {
	a := float64(c.A) / 255
	mix := func(f, b uint8) float64 { return (float64(f)*a + float64(b)*(1-a)) / 255 }
	return 0.2126*mix(c.R, bg.R) + 0.7152*mix(c.G, bg.G) + 0.0722*mix(c.B, bg.B)
}

// contrasting counts the pixels of img whose luma over bg differs from bg's
// by more than 40%.
func contrasting(img *image.NRGBA, bg color.NRGBA) int {
	n, l0 := 0, luma(bg, bg)
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			if d := luma(img.NRGBAAt(x, y), bg) - l0; d > 0.4 || d < -0.4 {
				n++
			}
		}
	}
	return n
}

// tinted is what macOS draws for a template image: its alpha in one colour.
func tinted(img *image.NRGBA, c color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = c.R, c.G, c.B, img.Pix[i+3]
	}
	return out
}

// Every tray icon at 16 px stands out on a white and on a near-black panel:
// at least a fifth of its 256 pixels differ from the panel by > 40% luma.
func TestTrayContrast(t *testing.T) {
	const minPixels = 256 / 5
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for _, s := range States {
		img := decodePNG(t, TrayPNG(s, 16, false))
		tpl := decodePNG(t, TrayPNG(s, 16, true))
		for _, c := range []struct {
			what string
			img  *image.NRGBA
			bg   color.NRGBA
		}{
			{"colour on white", img, white},
			{"colour on near-black", img, render.DarkPanel},
			{"template on white", tpl, white},
			{"template (tinted white) on near-black", tinted(tpl, white), render.DarkPanel},
		} {
			n := contrasting(c.img, c.bg)
			t.Logf("%s %s: %d contrasting pixels", s, c.what, n)
			if n < minPixels {
				t.Errorf("%s %s at 16 px: %d pixels differ from the panel by > 40%% luma, want >= %d", s, c.what, n, minPixels)
			}
		}
	}
}

// No two states look alike at 16 px: in colour at least 12 pixels differ
// strongly in some channel, and as templates at least 8 pixels differ
// strongly in alpha (shape is all a template has).
func TestTrayStatesDistinct(t *testing.T) {
	for i, a := range States {
		for _, b := range States[i+1:] {
			for _, template := range []bool{false, true} {
				ia, ib := decodePNG(t, TrayPNG(a, 16, template)), decodePNG(t, TrayPNG(b, 16, template))
				n, want := 0, 12
				if template {
					want = 8
				}
				for p := 0; p < len(ia.Pix); p += 4 {
					lo, hi := p, p+4
					if template {
						lo = p + 3
					}
					for k := lo; k < hi; k++ {
						if d := int(ia.Pix[k]) - int(ib.Pix[k]); d > 100 || d < -100 {
							n++
							break
						}
					}
				}
				if n < want {
					t.Errorf("%s and %s (template %v) differ in only %d pixels at 16 px, want >= %d", a, b, template, n, want)
				}
			}
		}
	}
}

func TestTemplatesAreBlackAndAlpha(t *testing.T) {
	for _, s := range States {
		for _, size := range TraySizes {
			img := decodePNG(t, TrayPNG(s, size, true))
			opaque := 0
			for p := 0; p < len(img.Pix); p += 4 {
				if img.Pix[p+3] == 0 {
					continue
				}
				opaque++
				if img.Pix[p] != 0 || img.Pix[p+1] != 0 || img.Pix[p+2] != 0 {
					t.Fatalf("%s template %d px: pixel %d is not black: % x", s, size, p/4, img.Pix[p:p+4])
				}
			}
			if opaque == 0 {
				t.Errorf("%s template %d px is empty", s, size)
			}
		}
	}
}

func TestEmbedded(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		size int
	}{"App256": {App256, 256}, "App64": {App64, 64}, "App32": {App32, 32}} {
		if b := decodePNG(t, c.data).Bounds(); b.Dx() != c.size || b.Dy() != c.size {
			t.Errorf("%s is %v", name, b)
		}
	}
	for _, size := range AppSizes {
		if b := decodePNG(t, AppPNG(size)).Bounds(); b.Dx() != size {
			t.Errorf("AppPNG(%d) is %v", size, b)
		}
	}
	for _, s := range States {
		for _, size := range TraySizes {
			for _, template := range []bool{false, true} {
				if b := decodePNG(t, TrayPNG(s, size, template)).Bounds(); b.Dx() != size || b.Dy() != size {
					t.Errorf("TrayPNG(%s, %d, %v) is %v", s, size, template, b)
				}
			}
		}
		if !bytes.Equal(Tray(s), TrayPNG(s, 32, false)) || !bytes.Equal(TrayTemplate(s), TrayPNG(s, 44, true)) {
			t.Errorf("Tray/TrayTemplate(%s) are not the 32 px colour and 44 px template icons", s)
		}
	}
	if Tray(State(len(States))) != nil || AppPNG(17) != nil || TrayPNG(Syncing, 17, false) != nil {
		t.Error("unknown states and sizes should give nil")
	}
	if got := State(99).String(); got != "State(99)" {
		t.Errorf("State(99).String() = %q", got)
	}
}

// The state names and sizes here and in the renderer are one list.
func TestStatesMatchRenderer(t *testing.T) {
	var names []string
	for _, s := range States {
		names = append(names, s.String())
	}
	if !slices.Equal(names, render.TrayStates) {
		t.Errorf("icons.States %v, render.TrayStates %v", names, render.TrayStates)
	}
	if !slices.Equal(TraySizes, render.TraySizes) {
		t.Errorf("icons.TraySizes %v, render.TraySizes %v", TraySizes, render.TraySizes)
	}
	for _, size := range AppSizes {
		if !slices.Contains(render.AppSizes, size) {
			t.Errorf("icons.AppSizes has %d, which render does not make", size)
		}
	}
}

func decodePNG(t *testing.T, data []byte) *image.NRGBA {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode png (%d bytes): %v", len(data), err)
	}
	n := image.NewNRGBA(img.Bounds())
	draw.Draw(n, n.Bounds(), img, img.Bounds().Min, draw.Src)
	return n
}

func maxImageDiff(a, b image.Image) int {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 256
	}
	na, nb := image.NewNRGBA(a.Bounds()), image.NewNRGBA(b.Bounds())
	draw.Draw(na, na.Bounds(), a, a.Bounds().Min, draw.Src)
	draw.Draw(nb, nb.Bounds(), b, b.Bounds().Min, draw.Src)
	d := 0
	for i := range na.Pix {
		d = max(d, int(na.Pix[i])-int(nb.Pix[i]), int(nb.Pix[i])-int(na.Pix[i]))
	}
	return d
}

func maxPixelDiff(t *testing.T, a, b []byte) int {
	return maxImageDiff(decodePNG(t, a), decodePNG(t, b))
}
