package mutable

import (
	"bytes"
	"context"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
)

// FuzzHostileShares replaces seven of ten shares of a published file with
// fuzzer-chosen bytes (each a mutation of the real share). Whatever they
// contain, reading must not panic and must return exactly the published
// contents, from the three honest shares.
func FuzzHostileShares(f *testing.F) {
	f.Add([]byte{0}, uint16(0), false)
	f.Add([]byte{0xff, 0xff}, uint16(75), true)
	f.Add([]byte{0, 0, 0, 0}, uint16(59), true)
	f.Add(bytes.Repeat([]byte{7}, 300), uint16(2000), false)
	f.Fuzz(func(t *testing.T, patch []byte, at uint16, mdmf bool) {
		ctx := context.Background()
		format := cap.SDMF
		data := []byte("the contents that must survive hostile shares, repeated. ")
		if mdmf {
			format = cap.MDMF
			data = bytes.Repeat(data, 5000) // three segments
		}
		ms, servers := grid(10)
		file, err := Create(ctx, servers, data, opts(format, testKey(t, 0)))
		if err != nil {
			t.Fatal(err)
		}
		for sh, hs := range holders(ms, servers, file) {
			if sh >= 7 {
				continue
			}
			for _, i := range hs {
				srv := servers[i]
				b, _ := srv.ReadMutableShare(ctx, file.si, sh, 0, 1<<30)
				off := int(at) % (len(b) + 1)
				b = append(b[:off:off], patch...)
				nl := uint64(len(b))
				r, err := srv.ReadTestWrite(ctx, file.si, file.writeEnabler(srv), storage.LeaseSecrets{},
					map[int]storage.TestWrite{sh: {Writes: []storage.WriteVector{{Data: b}}, NewLength: &nl}}, nil)
				if err != nil || !r.OK {
					t.Fatal(err)
				}
			}
		}
		got, _, err := file.Read(ctx)
		if err != nil {
			t.Fatalf("read with 3 honest shares: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("read returned wrong contents")
		}
	})
}
