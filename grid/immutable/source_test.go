package immutable

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// changingReader is a file that someone rewrites while it is uploaded:
// after the first full pass (the convergent key's), seeking back to the
// start shows different bytes, or a different length.
type changingReader struct {
	passes [][]byte // what each pass from offset 0 sees; the last repeats
	pass   int
	cur    *bytes.Reader
}

// newChanging is a file whose size is that of probe until the first
// rewind; then each rewind starts the next pass.
func newChanging(probe []byte, passes ...[]byte) *changingReader {
	return &changingReader{passes: passes, pass: -1, cur: bytes.NewReader(probe)}
}

func (c *changingReader) Read(p []byte) (int, error) { return c.cur.Read(p) }

func (c *changingReader) Seek(off int64, whence int) (int64, error) {
	if off == 0 && whence == io.SeekStart {
		c.pass = min(c.pass+1, len(c.passes)-1)
		c.cur = bytes.NewReader(c.passes[c.pass])
		return 0, nil
	}
	return c.cur.Seek(off, whence)
}

// A file changed between the key pass and the encoding pass gets no cap:
// the upload fails with ErrSourceChanged, whether its bytes, its length
// (shorter or longer) changed.
func TestUploadDetectsSourceChange(t *testing.T) {
	c, _ := newClient(10)
	old := data(20000, 7)
	edited := bytes.Clone(old)
	edited[12345] ^= 1
	for name, passes := range map[string][][]byte{
		// Upload seeks to the end for the size (probe), rewinds, hashes
		// (the key pass), rewinds, encodes.
		"contents":            {old, old, edited},
		"shorter":             {old, old, old[:15000]},
		"longer":              {old, old, append(bytes.Clone(old), "more"...)},
		"before the key pass": {old, old[:19000], old[:19000]},
	} {
		_, err := c.Upload(context.Background(), newChanging(passes[0], passes[1:]...))
		if !errors.Is(err, ErrSourceChanged) {
			t.Errorf("%s changed during upload: %v, want ErrSourceChanged", name, err)
		}
	}
	// A file that holds still uploads as before.
	if _, err := c.Upload(context.Background(), newChanging(old, old)); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
}
