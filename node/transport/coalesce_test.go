package transport

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// writes records each Write as one chunk.
type writes struct {
	net.Conn
	got [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.got = append(w.got, append([]byte(nil), p...))
	return len(p), nil
}

func header(typ byte, length uint32) []byte {
	h := make([]byte, yamuxHeaderSize)
	h[1] = typ
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

func TestCoalescerJoinsDataHeaderAndBody(t *testing.T) {
	w := &writes{}
	c := &coalescer{Conn: w}
	body := bytes.Repeat([]byte("x"), 5000)
	steps := []struct {
		p          []byte
		wantWrites int
	}{
		{header(0, 5000), 0},  // a data header: held
		{body, 1},             // with its body: one write
		{header(1, 65536), 2}, // a window update: at once
		{header(2, 7), 3},     // a ping: at once
		{header(0, 0), 4},     // a data frame with no body (FIN): at once
		{header(3, 0), 5},     // go away: at once
		{[]byte("short"), 6},  // anything else: at once
	}
	for i, s := range steps {
		if n, err := c.Write(s.p); n != len(s.p) || err != nil {
			t.Fatalf("step %d: Write = %d, %v", i, n, err)
		}
		if len(w.got) != s.wantWrites {
			t.Fatalf("step %d: %d writes, want %d", i, len(w.got), s.wantWrites)
		}
	}
	if want := append(header(0, 5000), body...); !bytes.Equal(w.got[0], want) {
		t.Fatalf("first write is %d bytes, want header+body (%d)", len(w.got[0]), len(want))
	}
}
