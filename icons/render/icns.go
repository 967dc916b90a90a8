package render

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// icnsTypes are the PNG-bearing icns entry types by pixel size, in the order
// written. The @2x types (ic11..ic14) hold the same pixels as the 1x type of
// the same pixel size; macOS picks by point size and scale.
var icnsTypes = []struct {
	typ  string
	size int
}{
	{"icp4", 16}, {"ic11", 32}, {"icp5", 32}, {"ic12", 64}, {"icp6", 64},
	{"ic07", 128}, {"ic13", 256}, {"ic08", 256}, {"ic14", 512}, {"ic09", 512}, {"ic10", 1024},
}

// ICNS writes a macOS icon family from PNGs keyed by pixel size; it needs
// 16, 32, 64, 128, 256, 512 and 1024.
func ICNS(pngs map[int][]byte) ([]byte, error) {
	var body bytes.Buffer
	be := binary.BigEndian
	for _, t := range icnsTypes {
		data, ok := pngs[t.size]
		if !ok {
			return nil, fmt.Errorf("icns: no %d px PNG for entry %s", t.size, t.typ)
		}
		body.WriteString(t.typ)
		body.Write(be.AppendUint32(nil, uint32(8+len(data))))
		body.Write(data)
	}
	var b bytes.Buffer
	b.WriteString("icns")
	b.Write(be.AppendUint32(nil, uint32(8+body.Len())))
	b.Write(body.Bytes())
	return b.Bytes(), nil
}
