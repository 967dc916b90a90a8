package immutable

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// A key hashed as the bytes go by gives Upload's cap, LIT included, and
// the file reads back; a wrong byte count is an error, not a wrong cap.
func TestUploadKeyedMatchesUpload(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{1, 55, 56, 1000, 300 << 10} {
		c, _ := newClient(10)
		d := data(size, int64(size))
		want, err := c.Upload(ctx, bytes.NewReader(d))
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.NewKeyHasher(int64(size))
		if err != nil {
			t.Fatal(err)
		}
		k.Write(d[:size/2])
		k.Write(d[size/2:])
		key, err := k.Key()
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := newClient(10) // a fresh grid: nothing to deduplicate against
		got, err := c2.UploadKeyed(ctx, bytes.NewReader(d), int64(size), key)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cap.String() != want.Cap.String() {
			t.Errorf("%d bytes: UploadKeyed cap differs from Upload's", size)
		}
		var back bytes.Buffer
		if _, err := c2.Download(ctx, got.Cap, &back); err != nil || !bytes.Equal(back.Bytes(), d) {
			t.Errorf("%d bytes: read back %d bytes, %v", size, back.Len(), err)
		}
	}
	c, _ := newClient(10)
	k, _ := c.NewKeyHasher(1000)
	k.Write(make([]byte, 999))
	if _, err := k.Key(); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("short hash: %v", err)
	}
	d := data(1000, 1)
	if _, err := c.UploadKeyed(ctx, bytes.NewReader(d[:900]), 1000, [16]byte{1}); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("short input: %v", err)
	}
	if _, err := c.UploadKeyed(ctx, bytes.NewReader(d), 900, [16]byte{2}); !errors.Is(err, ErrSourceChanged) {
		t.Errorf("long input: %v", err)
	}
}
