package render

import (
	"bytes"
	"encoding/binary"
	"image"
	"strings"
	"testing"
)

const square = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">%s</svg>`

func svg(body string) []byte { return []byte(strings.Replace(square, "%s", body, 1)) }

// A subpath drawn the other way round is a hole (oksvg fills nonzero), and
// the viewBox maps onto the whole canvas.
func TestRasterizeHoleAndScale(t *testing.T) {
	img, err := Rasterize(svg(`<path fill="#ff0000" d="M 0 0 L 8 0 L 8 8 L 0 8 Z M 2 2 L 2 6 L 6 6 L 6 2 Z"/>`), 16)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 16 || b.Dy() != 16 {
		t.Fatalf("bounds %v", b)
	}
	if c := img.NRGBAAt(1, 1); c.R != 0xff || c.A != 0xff {
		t.Errorf("frame pixel %v, want opaque red", c)
	}
	if c := img.NRGBAAt(8, 8); c.A != 0 {
		t.Errorf("hole pixel %v, want transparent", c)
	}
}

func TestRasterizeRejects(t *testing.T) {
	for name, src := range map[string][]byte{
		"not square":  []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 4"><rect width="8" height="4"/></svg>`),
		"unsupported": svg(`<text x="1" y="6">A</text>`),
		"not xml":     []byte("<svg"),
	} {
		if _, err := Rasterize(src, 16); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Rasterize(svg(`<rect width="8" height="8"/>`), 0); err == nil {
		t.Error("size 0: no error")
	}
}

// PNGs carry only IHDR, IDAT and IEND: no time or text chunk that would
// make two renders of the same pixels differ.
func TestEncodePNGChunks(t *testing.T) {
	img, err := Rasterize(svg(`<circle cx="4" cy="4" r="3" fill="#123456"/>`), 32)
	if err != nil {
		t.Fatal(err)
	}
	a, err := EncodePNG(img)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := EncodePNG(img)
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of one image differ")
	}
	for off := 8; off < len(a); {
		n := int(binary.BigEndian.Uint32(a[off:]))
		typ := string(a[off+4 : off+8])
		if typ != "IHDR" && typ != "IDAT" && typ != "IEND" {
			t.Errorf("chunk %q", typ)
		}
		off += 12 + n
	}
}

func TestICORejectsBadSizes(t *testing.T) {
	sq := func(n int) *image.NRGBA { return image.NewNRGBA(image.Rect(0, 0, n, n)) }
	for name, imgs := range map[string][]*image.NRGBA{
		"too big":    {sq(512)},
		"not square": {image.NewNRGBA(image.Rect(0, 0, 16, 8))},
		"twice":      {sq(16), sq(16)},
	} {
		if _, err := ICO(imgs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestICNSNeedsEverySize(t *testing.T) {
	if _, err := ICNS(map[int][]byte{16: {1}}); err == nil {
		t.Error("icns without 32..1024: no error")
	}
}
