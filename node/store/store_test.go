package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/storagetest"
)

var ctx = context.Background()

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, dir string, o Options) *Store {
	t.Helper()
	if o.FreeSpace == nil {
		o.FreeSpace = func(string) (uint64, error) { return 1 << 40, nil }
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Server { return open(t, t.TempDir(), Options{}) })
}

func sec(b byte) storage.Secret { var s storage.Secret; s[0] = b; return s }

func put(t *testing.T, s *Store, si storage.SI, sh int, data []byte) {
	t.Helper()
	ls := storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}
	if _, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{sh}, uint64(len(data))); err != nil {
		t.Fatal(err)
	}
	done, err := s.WriteShare(ctx, si, sh, sec(9), 0, data)
	if err != nil || !done {
		t.Fatalf("write: %v %v", done, err)
	}
}

// The path and bytes on disk are Tahoe's: storage/shares/<prefix>/<SI>/<n>,
// a v2 container header, the data, one 72-byte lease with BLAKE2b secrets.
func TestTahoeLayoutOnDisk(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.Unix(1_700_000_000, 0)}
	s := open(t, dir, Options{Now: c.now})
	var si storage.SI
	si[0] = 0xff
	put(t, s, si, 7, []byte("share bytes"))
	name := base32.Encode(si[:])
	path := filepath.Join(dir, "shares", name[:2], name, "7")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("share not at Tahoe's path %s: %v", path, err)
	}
	if len(b) != 12+11+72 {
		t.Fatalf("container is %d bytes", len(b))
	}
	if binary.BigEndian.Uint32(b) != 2 || binary.BigEndian.Uint32(b[4:]) != 11 || binary.BigEndian.Uint32(b[8:]) != 1 {
		t.Errorf("header % x", b[:12])
	}
	if string(b[12:23]) != "share bytes" {
		t.Errorf("data %q", b[12:23])
	}
	l := b[23:]
	renew := sec(1)
	if binary.BigEndian.Uint32(l) != 0 || !bytes.Equal(l[4:36], hashed(renew[:])) {
		t.Errorf("lease owner/renew secret % x", l[:36])
	}
	if exp := binary.BigEndian.Uint32(l[68:]); exp != uint32(1_700_000_000+31*24*3600) {
		t.Errorf("lease expires at %d", exp)
	}
}

func hashed(b []byte) []byte { h := blake2b.Sum256(b); return h[:] }

func TestMutableContainerMagic(t *testing.T) {
	// Tahoe's v2 magic: the text then 5 bytes of its tagged hash (c3 55 21 99 25).
	want := append([]byte("Tahoe mutable container v2\n"), 0xc3, 0x55, 0x21, 0x99, 0x25)
	if !bytes.Equal(mutMagicV2, want) {
		t.Errorf("magic % x", mutMagicV2)
	}
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	w := map[int]storage.TestWrite{2: {Writes: []storage.WriteVector{{Data: []byte("slot data")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), storage.LeaseSecrets{Renew: sec(1)}, w, nil); err != nil {
		t.Fatal(err)
	}
	name := base32.Encode(si[:])
	b, _ := os.ReadFile(filepath.Join(dir, "shares", name[:2], name, "2"))
	if !bytes.HasPrefix(b, want) || binary.BigEndian.Uint64(b[84:]) != 9 || string(b[468:477]) != "slot data" {
		t.Errorf("mutable container layout wrong: % x", b[:100])
	}
	we := sec(5)
	if !bytes.Equal(b[52:84], we[:]) {
		t.Error("write enabler not at offset 52")
	}
}

// Shares written by Tahoe 1.2.0 (v1 containers) are served.
func TestReadsTahoeV1Containers(t *testing.T) {
	f, err := os.Open("../../grid/chk/testdata/tahoe-1.2.0-chk-shares.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	si := mustSI(t, "URI:CHK:g4i6qkk7mlj4vkl5ncg6dwo73i")
	s := open(t, dir, Options{})
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var want [][]byte
	for sc.Scan() {
		num, b32, _ := strings.Cut(sc.Text(), " ")
		b, _ := base32.Decode(b32)
		p := s.sharePath(si, atoi(num))
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, b, 0o600)
		want = append(want, b[12:len(b)-72])
	}
	got, err := s.ListShares(ctx, si)
	if err != nil || len(got) != 10 {
		t.Fatalf("list %v %v", got, err)
	}
	data, err := s.ReadShare(ctx, si, 0, 0, 1<<20)
	if err != nil || !bytes.Equal(data, want[0]) {
		t.Fatalf("v1 container read: %d bytes, %v", len(data), err)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// The storage index of the Tahoe 1.2.0 file; computed from its key.
func mustSI(t *testing.T, prefix string) storage.SI {
	key, _ := base32.Decode(strings.TrimPrefix(prefix, "URI:CHK:"))
	var k [16]byte
	copy(k[:], key)
	return storage.SI(siOf(k))
}

func TestPersistsAndDropsUnfinishedUploads(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	put(t, s, si, 1, []byte("complete"))
	if _, err := s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(3), []int{2}, 100); err != nil {
		t.Fatal(err)
	}
	s.WriteShare(ctx, si, 2, sec(3), 0, []byte("partial"))
	// Crash: no Close. A new store on the same directory sees only the
	// complete share and no leftovers.
	s2 := open(t, dir, Options{})
	got, _ := s2.ListShares(ctx, si)
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("after restart: %v", got)
	}
	if d, _ := s2.ReadShare(ctx, si, 1, 0, 100); string(d) != "complete" {
		t.Fatalf("after restart: %q", d)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "shares", "incoming"))
	if len(ents) != 0 {
		t.Errorf("incoming/ not cleared: %v", ents)
	}
}

func TestLeaseExpiry(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	s := open(t, t.TempDir(), Options{Now: c.now})
	var a, b storage.SI
	a[0], b[0] = 1, 2
	put(t, s, a, 0, []byte("a"))
	c.t = c.t.Add(20 * 24 * time.Hour)
	put(t, s, b, 0, []byte("b"))
	c.t = c.t.Add(15 * 24 * time.Hour) // a's lease (31 days) has expired, b's has not
	n, err := s.ExpireLeases(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	if got, _ := s.ListShares(ctx, a); len(got) != 0 {
		t.Error("expired share still there")
	}
	// Renewing keeps b alive past its first expiry.
	if err := s.AddLease(ctx, b, storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(20 * 24 * time.Hour)
	if n, _ := s.ExpireLeases(ctx); n != 0 {
		t.Error("renewed share was collected")
	}
	c.t = c.t.Add(15 * 24 * time.Hour)
	if n, _ := s.ExpireLeases(ctx); n != 1 {
		t.Error("share not collected after its renewed lease ran out")
	}
}

func TestReadOnlyAndReservedSpace(t *testing.T) {
	ro := open(t, t.TempDir(), Options{ReadOnly: true})
	var si storage.SI
	a, err := ro.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(1), []int{0}, 10)
	if err != nil || len(a.Allocated) != 0 {
		t.Errorf("read-only allocated %v %v", a, err)
	}
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("x")}}}}
	if _, err := ro.ReadTestWrite(ctx, si, sec(1), storage.LeaseSecrets{}, w, nil); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("read-only mutable write: %v", err)
	}
	if v, _ := ro.Version(ctx); v.AvailableSpace != 0 || v.MaxImmutableShareSize != 0 {
		t.Errorf("read-only version %+v", v)
	}

	free := uint64(1000)
	s := open(t, t.TempDir(), Options{ReservedSpace: 600, FreeSpace: func(string) (uint64, error) { return free, nil }})
	if v, _ := s.Version(ctx); v.AvailableSpace != 400 {
		t.Errorf("available %d, want 400", v.AvailableSpace)
	}
	a, _ = s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(1), []int{0, 1}, 300)
	if len(a.Allocated) != 1 {
		t.Errorf("with 400 bytes available two 300-byte shares got %v", a.Allocated)
	}
}

func TestIdleUploadsAborted(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	s := open(t, t.TempDir(), Options{Now: c.now})
	var si storage.SI
	s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(1), []int{0}, 10)
	c.t = c.t.Add(29 * time.Minute)
	if s.Sweep() != 0 {
		t.Fatal("aborted a 29-minute-idle upload")
	}
	s.WriteShare(ctx, si, 0, sec(1), 0, []byte("abc"))
	// node/gbs's zero-byte check of each request counts as activity,
	// though it writes nothing.
	c.t = c.t.Add(20 * time.Minute)
	s.WriteShare(ctx, si, 0, sec(1), 10, nil)
	c.t = c.t.Add(20 * time.Minute)
	if s.Sweep() != 0 {
		t.Fatal("aborted an upload checked 20 minutes ago")
	}
	c.t = c.t.Add(11 * time.Minute)
	if s.Sweep() != 1 {
		t.Fatal("31-minute-idle upload not aborted")
	}
	if _, err := s.WriteShare(ctx, si, 0, sec(1), 3, []byte("d")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("write after abort: %v", err)
	}
}

func TestCorruptionAdvisoryKept(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	if err := s.AdviseCorrupt(ctx, storage.Immutable, si, 3, "block 4 does not match its hash"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "corruption-advisories"))
	if len(ents) != 1 {
		t.Fatalf("%d advisories", len(ents))
	}
	b, _ := os.ReadFile(filepath.Join(dir, "corruption-advisories", ents[0].Name()))
	if !strings.Contains(string(b), "block 4 does not match") || !strings.Contains(string(b), "share_number: 3") {
		t.Errorf("advisory: %s", b)
	}
}

func FuzzContainers(f *testing.F) {
	f.Add(immHeaderBytes(2, 4, 0))
	m := &mutable{Data: []byte("abc"), Leases: []lease{{Expiration: 5}}}
	f.Add(m.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if isMutable(b) {
			if m, err := parseMutable(b); err == nil {
				if _, err := parseMutable(m.marshal()); err != nil {
					t.Fatalf("re-marshalled container does not parse: %v", err)
				}
			}
			return
		}
		immLeases(b)
	})
}

// A share written in pieces, in any order (Tahoe's uploader and ours
// write the blocks, then the header at 0, then the hashes at the end),
// with the zero-byte write node/gbs checks each request with before it,
// ends up as the one-piece share: header, data, one lease. The zero-byte
// writes make no file in incoming/.
func TestShareWrittenInPieces(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	pieces := [][2]int{{0, 5}, {5, 30}, {30, 36}} // [from, to) of data
	for _, tc := range []struct {
		name  string
		order []int
	}{
		{"blocks, header, hashes", []int{1, 0, 2}},
		{"in order", []int{0, 1, 2}},
		{"backwards", []int{2, 1, 0}},
		{"end first, header last", []int{2, 0, 1}},
		{"header written twice", []int{0, 1, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{time.Unix(1_700_000_000, 0)}
			s := open(t, dir, Options{Now: c.now})
			var si storage.SI
			si[0] = 0x42
			ls := storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}
			if _, err := s.AllocateBuckets(ctx, si, ls, sec(9), []int{3}, uint64(len(data))); err != nil {
				t.Fatal(err)
			}
			incoming := filepath.Join(dir, "shares", "incoming")
			for i, p := range tc.order {
				from, to := pieces[p][0], pieces[p][1]
				if done, err := s.WriteShare(ctx, si, 3, sec(9), uint64(to), nil); err != nil || done {
					t.Fatalf("zero-byte check before piece %d: done %v, %v", p, done, err)
				}
				if i == 0 {
					if es, _ := os.ReadDir(incoming); len(es) != 0 {
						t.Errorf("a zero-byte write made %d files in incoming/", len(es))
					}
				}
				done, err := s.WriteShare(ctx, si, 3, sec(9), uint64(from), data[from:to])
				if err != nil {
					t.Fatalf("piece %d: %v", p, err)
				}
				if last := i == len(tc.order)-1; done != last {
					t.Fatalf("piece %d (write %d of %d): done %v", p, i+1, len(tc.order), done)
				}
			}
			name := base32.Encode(si[:])
			b, err := os.ReadFile(filepath.Join(dir, "shares", name[:2], name, "3"))
			if err != nil {
				t.Fatal(err)
			}
			want := immHeaderBytes(2, uint64(len(data)), 1)
			want = append(want, data...)
			want = append(want, newLease(ls, uint32(1_700_000_000+31*24*3600)).marshalImm()...)
			if !bytes.Equal(b, want) {
				t.Errorf("container\n% x\nwant\n% x", b, want)
			}
			got, err := s.ReadShare(ctx, si, 3, 0, 100)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("read back %q, %v", got, err)
			}
		})
	}
}
