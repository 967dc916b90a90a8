package render

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
)

// ICO writes a Windows icon holding imgs (square, 1..256 px, each size
// once). Entries below 128 px are 32-bit DIBs, which every Windows version
// and resource compiler reads; 128 and 256 px entries are PNG-compressed
// (Windows Vista and later), which keeps the file a third of the size.
func ICO(imgs []*image.NRGBA) ([]byte, error) {
	type entry struct {
		size int
		data []byte
	}
	var entries []entry
	seen := map[int]bool{}
	for _, img := range imgs {
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if w != h || w < 1 || w > 256 || seen[w] {
			return nil, fmt.Errorf("ico: image %dx%d: need distinct square sizes 1..256", w, h)
		}
		seen[w] = true
		var data []byte
		if w >= 128 {
			var err error
			if data, err = EncodePNG(img); err != nil {
				return nil, err
			}
		} else {
			data = dib(img)
		}
		entries = append(entries, entry{w, data})
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, 0))                    // reserved
	b.Write(le.AppendUint16(nil, 1))                    // type: icon
	b.Write(le.AppendUint16(nil, uint16(len(entries)))) // count
	offset := 6 + 16*len(entries)
	for _, e := range entries {
		dim := byte(e.size) // 256 is written as 0
		b.Write([]byte{dim, dim, 0, 0})
		b.Write(le.AppendUint16(nil, 1))  // colour planes
		b.Write(le.AppendUint16(nil, 32)) // bits per pixel
		b.Write(le.AppendUint32(nil, uint32(len(e.data))))
		b.Write(le.AppendUint32(nil, uint32(offset)))
		offset += len(e.data)
	}
	for _, e := range entries {
		b.Write(e.data)
	}
	return b.Bytes(), nil
}

// dib is an icon entry in the classic format: a BITMAPINFOHEADER with
// doubled height, bottom-up BGRA rows, then the 1-bit AND mask (set where
// fully transparent) for programs that ignore alpha.
func dib(img *image.NRGBA) []byte {
	n := img.Bounds().Dx()
	maskStride := (n + 31) / 32 * 4
	le := binary.LittleEndian
	var b bytes.Buffer
	b.Write(le.AppendUint32(nil, 40))
	b.Write(le.AppendUint32(nil, uint32(n)))
	b.Write(le.AppendUint32(nil, uint32(2*n)))
	b.Write(le.AppendUint16(nil, 1))
	b.Write(le.AppendUint16(nil, 32))
	b.Write(le.AppendUint32(nil, 0)) // BI_RGB
	b.Write(le.AppendUint32(nil, uint32(n*n*4+maskStride*n)))
	b.Write(make([]byte, 16)) // resolution and palette: unused
	for y := n - 1; y >= 0; y-- {
		for x := 0; x < n; x++ {
			c := img.NRGBAAt(x, y)
			b.Write([]byte{c.B, c.G, c.R, c.A})
		}
	}
	for y := n - 1; y >= 0; y-- {
		row := make([]byte, maskStride)
		for x := 0; x < n; x++ {
			if img.NRGBAAt(x, y).A == 0 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		b.Write(row)
	}
	return b.Bytes()
}
