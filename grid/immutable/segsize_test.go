package immutable

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"testing"

	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/storage/mem"
	"github.com/lafssync/lafssync/grid/vectors"
)

// Uploads default to Tahoe ≥ 1.19's 1 MiB maximum segment size, so the same
// file and convergence secret give the cap Tahoe gives.
//
// No Tahoe vector with 1 MiB segments exists (upstream's generator pins
// 128 KiB), so this checks what can be checked: (1) every Tahoe CHK vector
// no longer than 128 KiB, whose effective segment size is the same under
// either maximum, comes out as Tahoe's cap when encoded with our default;
// (2) a default upload of a 3 MiB file uses Tahoe's segmentation for 1 MiB
// (segment size next_multiple(1 MiB, k) = 1048578, 3 segments) and gives
// the cap of the vector algorithm (checked against Tahoe's vectors at every
// other size) run with a 1 MiB maximum.
func TestDefaultSegmentSizeIsTahoes(t *testing.T) {
	if got := DefaultParams().MaxSegmentSize; got != 1<<20 {
		t.Fatalf("default max segment size %d, want Tahoe's 1048576", got)
	}
	fh, err := os.Open("../../testdata/vectors/tahoe/vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := vectors.Load(fh)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := range f.Vectors {
		v := f.Vectors[i]
		if v.Kind() != "chk" || v.Sample.Length > v.Zfec.SegmentSize || v.Sample.Length <= chk.LITThreshold {
			continue
		}
		v.Zfec.SegmentSize = DefaultParams().MaxSegmentSize
		got, err := vectors.ComputeCHK(&v)
		if err != nil || got != v.Expected {
			t.Errorf("vector %d (%d bytes, %d-of-%d) at the default segment size: %s, %v; Tahoe: %s",
				i, v.Sample.Length, v.Zfec.Required, v.Zfec.Total, got, err, v.Expected)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d vectors checked", checked)
	}

	const size = 3<<20 + 1
	l, err := chk.NewLayout(size, 3, 10, DefaultParams().MaxSegmentSize)
	if err != nil || l.SegmentSize != 1048578 || l.NumSegments != 3 || l.TailSize != size-2*1048578 {
		t.Fatalf("layout of %d bytes: segment %d ×%d, tail %d (%v)", size, l.SegmentSize, l.NumSegments, l.TailSize, err)
	}
	conv := []byte("aaaaaaaaaaaaaaaa")
	v := vectors.Vector{Convergence: base64.StdEncoding.EncodeToString(conv)}
	v.Format.Kind = "chk"
	v.Sample.Seed, v.Sample.Length = base64.StdEncoding.EncodeToString([]byte("LAFS")), size
	v.Zfec.Required, v.Zfec.Total, v.Zfec.SegmentSize = 3, 10, 1<<20
	want, err := vectors.ComputeCHK(&v)
	if err != nil {
		t.Fatal(err)
	}
	_, ss := mem.NewGrid(10)
	c := &Client{Servers: ss, Params: DefaultParams(), Convergence: conv, LeaseSecret: []byte("l")}
	up, err := c.Upload(context.Background(), bytes.NewReader(bytes.Repeat([]byte("LAFS"), size/4+1)[:size]))
	if err != nil {
		t.Fatal(err)
	}
	if up.Cap.String() != want {
		t.Fatalf("default upload gives %s, the 1 MiB vector algorithm %s", up.Cap, want)
	}
	v.Zfec.SegmentSize = 128 << 10
	if old, _ := vectors.ComputeCHK(&v); old == want {
		t.Error("the segment size does not enter the cap?")
	}
	var out bytes.Buffer
	if _, err := c.Download(context.Background(), up.Cap, &out); err != nil || out.Len() != size {
		t.Fatalf("download: %d bytes, %v", out.Len(), err)
	}
}
