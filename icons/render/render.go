package render

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
)

// Rasterize draws an SVG document with a square viewBox onto a size×size
// transparent canvas.
func Rasterize(svg []byte, size int) (*image.NRGBA, error) {
	if size <= 0 || size > 4096 {
		return nil, fmt.Errorf("rasterize: size %d out of range 1..4096", size)
	}
	icon, err := oksvg.ReadIconStream(bytes.NewReader(svg), oksvg.StrictErrorMode)
	if err != nil {
		return nil, fmt.Errorf("parse svg: %w", err)
	}
	vb := icon.ViewBox
	if vb.W <= 0 || vb.W != vb.H {
		return nil, fmt.Errorf("svg viewBox is %gx%g; icons need a square viewBox", vb.W, vb.H)
	}
	icon.SetTarget(0, 0, float64(size), float64(size))
	canvas := image.NewRGBA(image.Rect(0, 0, size, size))
	scanner := rasterx.NewScannerGV(size, size, canvas, canvas.Bounds())
	icon.Draw(rasterx.NewDasher(size, size, scanner), 1)
	out := image.NewNRGBA(canvas.Bounds())
	draw.Draw(out, out.Bounds(), canvas, image.Point{}, draw.Src)
	return out, nil
}

// EncodePNG encodes img as a PNG with no ancillary chunks (no time, no text),
// so equal pixels give equal bytes.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
