package chk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/storage"
)

// memShares is a ShareWriter and a set of ShareSources over byte slices.
type memShares struct{ data map[int][]byte }

func newMem() *memShares { return &memShares{data: map[int][]byte{}} }

func (m *memShares) WriteAt(sh int, off int64, p []byte) error {
	d := m.data[sh]
	if end := off + int64(len(p)); end > int64(len(d)) {
		d = append(d, make([]byte, end-int64(len(d)))...)
	}
	copy(d[off:], p)
	m.data[sh] = d
	return nil
}

type src []byte

func (s src) ReadAt(_ context.Context, off, n int64) ([]byte, error) {
	if off >= int64(len(s)) {
		return nil, nil
	}
	return s[off:min(int64(len(s)), off+n)], nil
}

// decodeAll reads the whole file from the given shares, skipping bad ones,
// and returns the plaintext and the corrupt shares it met.
func decodeAll(t *testing.T, ref Ref, shares map[int][]byte) ([]byte, []int, error) {
	t.Helper()
	ctx := context.Background()
	d, err := NewDecoder(ref)
	if err != nil {
		return nil, nil, err
	}
	var good []*Share
	var bad []int
	for sh := 0; sh < ref.N; sh++ {
		b, ok := shares[sh]
		if !ok {
			continue
		}
		s, err := d.OpenShare(ctx, sh, src(b))
		var ce *storage.CorruptShareError
		if errors.As(err, &ce) {
			bad = append(bad, ce.Share)
			continue
		}
		if err != nil {
			return nil, bad, err
		}
		if err := d.LoadCrypttextTree(ctx, s); errors.As(err, &ce) {
			bad = append(bad, ce.Share)
			continue
		}
		good = append(good, s)
	}
	l, ok := d.Layout()
	if !ok {
		return nil, bad, storage.ErrNotEnoughShares
	}
	var out bytes.Buffer
	for seg := 0; seg < l.NumSegments; seg++ {
		blocks := map[int][]byte{}
		for _, s := range good {
			if len(blocks) == ref.K {
				break
			}
			b, err := s.ReadBlock(ctx, seg)
			var ce *storage.CorruptShareError
			if errors.As(err, &ce) {
				bad = append(bad, ce.Share)
				continue
			}
			if err != nil {
				return nil, bad, err
			}
			blocks[s.Num] = b
		}
		p, err := d.DecodeSegment(seg, blocks)
		if err != nil {
			return nil, bad, err
		}
		out.Write(p)
	}
	return out.Bytes(), bad, nil
}

func encode(t testing.TB, data []byte, k, n int, maxSeg int64) (*Result, *memShares) {
	t.Helper()
	l, err := NewLayout(int64(len(data)), k, n, maxSeg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ConvergentKey(bytes.NewReader(data), []byte("secret"), l)
	if err != nil {
		t.Fatal(err)
	}
	m := newMem()
	res, err := Encode(bytes.NewReader(data), key, l, m)
	if err != nil {
		t.Fatal(err)
	}
	for sh, d := range m.data {
		if int64(len(d)) != res.ShareLen() {
			t.Fatalf("share %d is %d bytes, layout says %d", sh, len(d), res.ShareLen())
		}
	}
	return res, m
}

func TestLayoutTahoeExamples(t *testing.T) {
	// ../shared/reference/formats.md §8.3 and §8.4 (derived from Tahoe's layout.py).
	l, _ := NewLayout(56, 1, 1, 131072)
	if l.SegmentSize != 56 || l.OffData != 36 || l.OffPlaintext != 92 || l.OffCrypttext != 124 ||
		l.OffBlockHashes != 156 || l.OffShareHashes != 188 || l.OffUEB != 222 {
		t.Errorf("56 bytes 1-of-1: %+v", l)
	}
	l, _ = NewLayout(56, 3, 10, 131072)
	if l.SegmentSize != 57 || l.PaddedTail != 57 || l.BlockSize != 19 || l.ShareSize != 19 || l.NumShareHashes != 5 ||
		l.OffPlaintext != 55 || l.OffCrypttext != 87 || l.OffBlockHashes != 119 || l.OffShareHashes != 151 || l.OffUEB != 321 {
		t.Errorf("56 bytes 3-of-10: %+v", l)
	}
	l, _ = NewLayout(1<<20, 3, 10, 1<<20)
	if l.SegmentSize != 1048578 {
		t.Errorf("1 MiB with k=3: segment size %d, want 1048578", l.SegmentSize)
	}
	if _, err := NewLayout(0, 3, 10, 1000); err == nil {
		t.Error("empty CHK accepted")
	}
	if _, err := NewLayout(10, 11, 10, 1000); err == nil {
		t.Error("k > n accepted")
	}
}

func TestLayoutV2WhenV1Overflows(t *testing.T) {
	l, err := NewLayout(20<<30, 1, 1, 5<<30)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 || l.OffData != 0x44 || l.UEBLengthPrefix != 8 {
		t.Errorf("20 GiB 1-of-1: version %d, data at %d", l.Version, l.OffData)
	}
	o, err := ParseHeader(l.Header())
	if err != nil || o.Version != 2 || o.UEB != uint64(l.OffUEB) || o.BlockSize != uint64(l.BlockSize) {
		t.Errorf("v2 header round trip: %+v %v", o, err)
	}
}

// The first official vector, worked through in formats.md §8.3.
func TestWorkedExample(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 56)
	l, _ := NewLayout(56, 1, 1, 131072)
	key, _ := ConvergentKey(bytes.NewReader(data), []byte("aaaaaaaaaaaaaaaa"), l)
	if got := base32.Encode(key[:]); got != "yzxcoagbetwet65ltjpbqyli3m" {
		t.Errorf("key %s", got)
	}
	m := newMem()
	res, err := Encode(bytes.NewReader(data), key, l, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.UEB) != 305 || res.ShareLen() != 531 {
		t.Errorf("UEB %d bytes, share %d bytes; want 305 and 531", len(res.UEB), res.ShareLen())
	}
	if !strings.HasPrefix(string(res.UEB), "codec_name:3:crs,codec_params:6:56-1-1,crypttext_hash:32:") {
		t.Errorf("UEB starts %q", res.UEB[:60])
	}
	want := "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"
	if res.Ref.Cap() != want {
		t.Errorf("cap %s", res.Ref.Cap())
	}
	si := res.Ref.StorageIndex()
	if base32.Encode(si[:]) != "i5nhq74zw2crkop634ra4hrvzm" {
		t.Errorf("storage index %s", base32.Encode(si[:]))
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	const seg = 4096
	cases := []struct {
		size int
		k, n int
	}{
		{1, 3, 10}, {55, 3, 10}, {56, 3, 10}, {seg - 1, 3, 10}, {seg, 3, 10}, {seg + 1, 3, 10},
		{5*seg + 17, 3, 10}, {3 * seg, 1, 1}, {3*seg + 2, 2, 3}, {seg * 2, 7, 12}, {1000, 101, 256}, {300, 255, 255},
	}
	for _, c := range cases {
		data := make([]byte, c.size)
		rng.Read(data)
		res, m := encode(t, data, c.k, c.n, seg)
		got, bad, err := decodeAll(t, res.Ref, m.data)
		if err != nil || len(bad) > 0 || !bytes.Equal(got, data) {
			t.Errorf("size %d %d-of-%d: err %v bad %v equal %v", c.size, c.k, c.n, err, bad, bytes.Equal(got, data))
		}
	}
}

func TestAnyKSharesSuffice(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 2000)
	res, m := encode(t, data, 3, 10, 4096)
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 40; trial++ {
		sub := map[int][]byte{}
		for _, sh := range rng.Perm(10)[:3] {
			sub[sh] = m.data[sh]
		}
		got, _, err := decodeAll(t, res.Ref, sub)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("shares %v: %v", keys(sub), err)
		}
	}
	sub := map[int][]byte{0: m.data[0], 5: m.data[5]}
	if _, _, err := decodeAll(t, res.Ref, sub); !errors.Is(err, storage.ErrNotEnoughShares) {
		t.Errorf("two shares: %v", err)
	}
}

func keys(m map[int][]byte) (out []int) {
	for k := range m {
		out = append(out, k)
	}
	return
}

// Corrupting any region of a share is detected, the share is named, and
// the file is still recovered from the others.
func TestCorruptionDetected(t *testing.T) {
	data := bytes.Repeat([]byte("corruption test data "), 1500)
	res, m := encode(t, data, 3, 10, 4096)
	l := res.Layout
	regions := map[string]int64{
		"version":      1,
		"offsets":      0x14,
		"block":        l.OffData + 5,
		"last block":   l.OffPlaintext - 1,
		"crypttext":    l.OffCrypttext + 40,
		"block tree":   l.OffBlockHashes + 3,
		"share hashes": l.OffShareHashes + 10,
		"share index":  l.OffShareHashes + 1,
		"UEB length":   l.OffUEB + 3,
		"UEB":          l.OffUEB + 20,
	}
	for name, off := range regions {
		shares := map[int][]byte{}
		for sh, d := range m.data {
			shares[sh] = bytes.Clone(d)
		}
		// Corrupt share 0 and also make it the only candidate with share 1
		// and 2, so decoding must notice and use share 3.
		shares[0][off] ^= 0x40
		got, bad, err := decodeAll(t, res.Ref, map[int][]byte{0: shares[0], 1: shares[1], 2: shares[2], 3: shares[3]})
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: recovery failed: %v", name, err)
		}
		if len(bad) != 1 || bad[0] != 0 {
			t.Errorf("%s: bad shares %v, want [0]", name, bad)
		}
	}
	// Truncation.
	got, bad, err := decodeAll(t, res.Ref, map[int][]byte{0: m.data[0][:l.OffUEB], 1: m.data[1], 2: m.data[2], 3: m.data[3]})
	if err != nil || !bytes.Equal(got, data) || len(bad) != 1 {
		t.Errorf("truncated share: err %v bad %v", err, bad)
	}
}

func loadTahoeShares(t *testing.T) map[int][]byte {
	f, err := os.Open("testdata/tahoe-1.2.0-chk-shares.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		num, b32, _ := strings.Cut(sc.Text(), " ")
		sh, _ := strconv.Atoi(num)
		container, err := base32.Decode(b32)
		if err != nil {
			t.Fatal(err)
		}
		// Container: >LLL header, data, 72-byte leases.
		leases := int(binary.BigEndian.Uint32(container[8:]))
		out[sh] = container[12 : len(container)-72*leases]
	}
	return out
}

// Shares written by Tahoe-LAFS 1.2.0 decode: out-of-order share-hash
// entries, 1000 bytes reserved after the UEB, zero plaintext tree.
func TestTahoeWrittenShares(t *testing.T) {
	shares := loadTahoeShares(t)
	if len(shares) != 10 {
		t.Fatalf("%d shares", len(shares))
	}
	ref := Ref{K: 3, N: 10, Size: 310}
	k, _ := base32.Decode("g4i6qkk7mlj4vkl5ncg6dwo73i")
	h, _ := base32.Decode("qcas2ebousfk3q5rkl2ncayeku52kpyse76v5yeel2t2eaa4f6ha")
	copy(ref.Key[:], k)
	copy(ref.UEBHash[:], h)
	want := bytes.Repeat([]byte("This is a moderate-sized file.\n"), 10)
	got, bad, err := decodeAll(t, ref, shares)
	if err != nil || len(bad) > 0 || !bytes.Equal(got, want) {
		t.Fatalf("decode Tahoe shares: err %v bad %v got %q", err, bad, got)
	}
	got, _, err = decodeAll(t, ref, map[int][]byte{9: shares[9], 4: shares[4], 7: shares[7]})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("decode from parity shares: %v", err)
	}
}

func TestUEBRejects(t *testing.T) {
	res, _ := encode(t, bytes.Repeat([]byte("x"), 1000), 3, 10, 4096)
	good := res.UEB
	if _, err := ParseUEB(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"truncated":     good[:len(good)-1],
		"no comma":      bytes.Replace(good, []byte("3:crs,"), []byte("3:crs;"), 1),
		"bad length":    bytes.Replace(good, []byte("codec_name:3:"), []byte("codec_name:x:"), 1),
		"leading zero":  bytes.Replace(good, []byte("codec_name:3:"), []byte("codec_name:03:"), 1),
		"bad int":       bytes.Replace(good, []byte("needed_shares:1:3"), []byte("needed_shares:1:x"), 1),
		"duplicate key": append(bytes.Clone(good), []byte("size:1:5,")...),
		"short hash":    bytes.Replace(good, []byte("share_root_hash:32:"), []byte("share_root_hash:31:"), 1),
		"missing key":   good[bytes.Index(good, []byte("codec_params")):],
	}
	for name, b := range bad {
		if _, err := ParseUEB(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseUEB(f *testing.F) {
	f.Add([]byte("codec_name:3:crs,"))
	res, _ := encode(f, bytes.Repeat([]byte("y"), 100), 3, 10, 4096)
	f.Add(res.UEB)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUEB(b)
		if err != nil {
			return
		}
		if _, err := ParseUEB(u.Pack()); err != nil {
			t.Fatalf("re-packed UEB does not parse: %v", err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	l, _ := NewLayout(1000, 3, 10, 4096)
	f.Add(l.Header())
	l2, _ := NewLayout(20<<30, 1, 1, 5<<30)
	f.Add(l2.Header())
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseHeader(b)
		if err != nil {
			return
		}
		if o.Plaintext < o.Data || o.UEB < o.ShareHashes {
			t.Fatalf("accepted out-of-order offsets %+v", o)
		}
	})
}
