package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

func freeSpace(n uint64) func(string) (uint64, error) {
	return func(string) (uint64, error) { return n, nil }
}

func allocatedBytes() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// A ~90-byte read-test-write asking for a terabyte share is refused without
// allocating it (issue 13 item 1: it ran the process out of memory).
func TestMutableHugeWritesRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{FreeSpace: freeSpace(1 << 30)})
	var si storage.SI
	si[0] = 0x42
	ls := storage.LeaseSecrets{Renew: sec(1), Cancel: sec(2)}
	huge := uint64(1 << 40)
	mid := uint64(1 << 34) // under the share maximum, over free space
	cases := []struct {
		name string
		tw   storage.TestWrite
		want error
	}{
		{"write at 2^40", storage.TestWrite{Writes: []storage.WriteVector{{Offset: huge, Data: []byte("x")}}}, storage.ErrTooLarge},
		{"new-length 2^40", storage.TestWrite{Writes: []storage.WriteVector{{Data: []byte("x")}}, NewLength: &huge}, storage.ErrTooLarge},
		{"write at 2^34", storage.TestWrite{Writes: []storage.WriteVector{{Offset: mid, Data: []byte("x")}}}, storage.ErrNoSpace},
		{"new-length 2^34", storage.TestWrite{Writes: []storage.WriteVector{{Data: []byte("x")}}, NewLength: &mid}, storage.ErrNoSpace},
	}
	before := allocatedBytes()
	for _, tc := range cases {
		_, err := s.ReadTestWrite(ctx, si, sec(5), ls, map[int]storage.TestWrite{0: tc.tw}, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s on a new slot: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, _ := s.ListMutableShares(ctx, si); len(got) != 0 {
		t.Errorf("refused writes created shares %v", got)
	}
	// An existing share does not grow either.
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("small share")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, w, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, map[int]storage.TestWrite{0: tc.tw}, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s on an existing share: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, _ := s.ReadMutableShare(ctx, si, 0, 0, 100); string(got) != "small share" {
		t.Errorf("after refused writes the share is %q", got)
	}
	if n := allocatedBytes() - before; n > 8<<20 {
		t.Errorf("refused writes allocated %d bytes", n)
	}
	if st, err := os.Stat(s.sharePath(si, 0)); err != nil || st.Size() > 4096 {
		t.Errorf("share file %v %v", st, err)
	}
}

// Mutable writes respect reserved_space as immutable allocations do.
func TestMutableWritesRespectReservedSpace(t *testing.T) {
	s := open(t, t.TempDir(), Options{ReservedSpace: 1000, FreeSpace: freeSpace(2000)})
	var si storage.SI
	ls := storage.LeaseSecrets{Renew: sec(1)}
	big := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: make([]byte, 900)}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, big, nil); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("900-byte write with 1000 bytes above the reservation (the container is 1372): %v", err)
	}
	small := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: make([]byte, 100)}}}}
	if r, err := s.ReadTestWrite(ctx, si, sec(5), ls, small, nil); err != nil || !r.OK {
		t.Fatalf("100-byte write: %v %v", r, err)
	}
}

// A large slot is read with bounded memory: reads are served from disk.
func TestMutableReadsFromDisk(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var si storage.SI
	ls := storage.LeaseSecrets{Renew: sec(1)}
	size := uint64(256 << 20)
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Offset: size - 3, Data: []byte("end")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, w, nil); err != nil {
		t.Fatal(err)
	}
	before := allocatedBytes()
	upd := map[int]storage.TestWrite{0: {
		Tests:  []storage.TestVector{{Offset: size - 3, Size: 3, Specimen: []byte("end")}},
		Writes: []storage.WriteVector{{Offset: 10, Data: []byte("mid")}},
	}}
	r, err := s.ReadTestWrite(ctx, si, sec(5), ls, upd, []storage.ReadVector{{Offset: size - 3, Size: 10}})
	if err != nil || !r.OK || string(r.Reads[0][0]) != "end" {
		t.Fatalf("update of a 256 MiB share: %+v %v", r, err)
	}
	if got, _ := s.ReadMutableShare(ctx, si, 0, 8, 7); !bytes.Equal(got, []byte("\x00\x00mid\x00\x00")) {
		t.Errorf("read %q", got)
	}
	if n := allocatedBytes() - before; n > 8<<20 {
		t.Errorf("a 3-byte update of a 256 MiB share allocated %d bytes", n)
	}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, nil, []storage.ReadVector{{Offset: 0, Size: size}}); !errors.Is(err, storage.ErrTooLarge) {
		t.Errorf("a 256 MiB read vector: %v", err)
	}
}

// Growing a share past its extra leases moves them and the bytes they
// occupied read as zeros; the container stays Tahoe's.
func TestMutableGrowsPastExtraLeases(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var si storage.SI
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("abc")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), storage.LeaseSecrets{Renew: sec(1)}, w, nil); err != nil {
		t.Fatal(err)
	}
	for i := byte(2); i < 8; i++ { // 4 inline + 3 extra leases
		if err := s.AddLease(ctx, si, storage.LeaseSecrets{Renew: sec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	grow := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Offset: 1000, Data: []byte("z")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), storage.LeaseSecrets{Renew: sec(1)}, grow, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(s.sharePath(si, 0))
	m, err := parseMutable(b)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("abc"), make([]byte, 997)...)
	want = append(want, 'z')
	if !bytes.Equal(m.Data, want) {
		t.Errorf("data after growing: %q", bytes.TrimRight(m.Data, "\x00"))
	}
	if len(m.Leases) != 7 {
		t.Errorf("%d leases after growing, want 7", len(m.Leases))
	}
	if len(b) != mutDataOffset+1001+4+3*mutLeaseSize {
		t.Errorf("container is %d bytes", len(b))
	}
	// Shrinking moves them back and the file shrinks with it.
	n := uint64(2)
	if _, err := s.ReadTestWrite(ctx, si, sec(5), storage.LeaseSecrets{Renew: sec(1)}, map[int]storage.TestWrite{0: {NewLength: &n}}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(s.sharePath(si, 0))
	if m, err = parseMutable(b); err != nil || string(m.Data) != "ab" || len(m.Leases) != 7 || len(b) != mutDataOffset+2+4+3*mutLeaseSize {
		t.Errorf("after shrinking: %d bytes, %v", len(b), err)
	}
}

// A change interrupted by a crash is undone at the next start: the share
// is as it was, byte for byte.
func TestMutableChangeUndoneAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	ls := storage.LeaseSecrets{Renew: sec(1)}
	w := map[int]storage.TestWrite{
		0: {Writes: []storage.WriteVector{{Data: []byte("version one")}}},
		1: {Writes: []storage.WriteVector{{Data: []byte("VERSION ONE")}}},
	}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, w, nil); err != nil {
		t.Fatal(err)
	}
	orig0, _ := os.ReadFile(s.sharePath(si, 0))
	orig1, _ := os.ReadFile(s.sharePath(si, 1))
	// Do what ReadTestWrite does, up to the commit, then "crash".
	slot, imm, err := s.readSlot(si)
	if err != nil {
		t.Fatal(err)
	}
	l := newLease(storage.LeaseSecrets{Renew: sec(9)}, 123)
	e0, _ := s.planWrite(si, 0, slot[0], imm[0], sec(5), l, storage.TestWrite{Writes: []storage.WriteVector{{Offset: 8, Data: []byte("two, longer than one")}}})
	e1 := &edit{rel: slot[1].rel, existed: true, del: true}
	e2, _ := s.planWrite(si, 2, nil, false, sec(5), l, storage.TestWrite{Writes: []storage.WriteVector{{Data: []byte("new")}}})
	edits := []*edit{e0, e1, e2}
	jp, err := s.writeJournal(edits)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.doEdits(jp, edits); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReadMutableShare(ctx, si, 0, 0, 100); string(got) != "version two, longer than one" {
		t.Fatalf("mid-change share 0 is %q", got)
	}
	s2 := open(t, dir, Options{})
	if got, _ := os.ReadFile(s2.sharePath(si, 0)); !bytes.Equal(got, orig0) {
		t.Errorf("share 0 after recovery differs: %q", got)
	}
	if got, _ := os.ReadFile(s2.sharePath(si, 1)); !bytes.Equal(got, orig1) {
		t.Errorf("deleted share 1 not restored: %q", got)
	}
	if got, _ := s2.ListMutableShares(ctx, si); len(got) != 2 {
		t.Errorf("shares after recovery %v (share 2 was created by the undone change)", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "journal")); len(ents) != 0 {
		t.Errorf("journal left: %v", ents)
	}
	// A torn journal (crash while writing it) is ignored: nothing was changed yet.
	os.WriteFile(filepath.Join(dir, "journal", "1-x.undo"), []byte(journalMagic+"\x00\x00"), 0o600)
	s3 := open(t, dir, Options{})
	if got, _ := os.ReadFile(s3.sharePath(si, 0)); !bytes.Equal(got, orig0) {
		t.Errorf("torn journal changed share 0")
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// Allocations hold no open file, and the number of uploads in progress is
// bounded (issue 13 item 3: 78 requests exhausted 20,000 descriptors).
func TestAllocationsHoldNoFilesAndAreBounded(t *testing.T) {
	s := open(t, t.TempDir(), Options{MaxUploads: 300})
	before := openFDs(t)
	var si storage.SI
	shares := make([]int, 100)
	for i := range shares {
		shares[i] = i
	}
	total := 0
	var err error
	for n := byte(0); n < 5; n++ {
		si[0] = n
		var a storage.Allocation
		a, err = s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(n), shares, 1000)
		total += len(a.Allocated)
	}
	if total != 300 {
		t.Errorf("%d shares allocated, want the limit 300", total)
	}
	if !errors.Is(err, storage.ErrNoSpace) || !strings.Contains(err.Error(), "uploads already in progress") {
		t.Errorf("allocation over the limit: %v", err)
	}
	if d := openFDs(t) - before; d > 5 {
		t.Errorf("300 allocations hold %d more open files", d)
	}
	// Writing and finishing still work, and free a place.
	si[0] = 0
	if _, err := s.WriteShare(ctx, si, 0, sec(0), 0, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	si[0] = 9
	if a, err := s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(9), []int{0}, 10); err != nil || len(a.Allocated) != 1 {
		t.Errorf("allocation after one finished: %+v %v", a, err)
	}
	if d := openFDs(t) - before; d > 5 {
		t.Errorf("after writes %d more open files", d)
	}
}

// Corruption advisories are bounded in number and bytes, oldest dropped,
// and not written into reserved_space (issue 13 item 4).
func TestCorruptionAdvisoriesBounded(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	reason := strings.Repeat("r", 40000) // cut to 32765
	for i := 0; i < 300; i++ {
		if err := s.AdviseCorrupt(ctx, storage.Immutable, si, i, reason); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 600; i++ {
		if err := s.AdviseCorrupt(ctx, storage.Mutable, si, i, "short"); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "corruption-advisories"))
	var bytes int64
	for _, e := range ents {
		info, _ := e.Info()
		bytes += info.Size()
	}
	if len(ents) > maxAdvisories || bytes > maxAdvisoryBytes {
		t.Errorf("%d advisories, %d bytes kept; limits %d, %d", len(ents), bytes, maxAdvisories, maxAdvisoryBytes)
	}
	last, _ := os.ReadFile(filepath.Join(dir, "corruption-advisories", ents[len(ents)-1].Name()))
	if !strings.Contains(string(last), "share_number: 599") {
		t.Errorf("newest advisory not kept: %s", last)
	}
	// The bounds hold across a restart.
	s2 := open(t, dir, Options{})
	s2.AdviseCorrupt(ctx, storage.Mutable, si, 1000, "after restart")
	if ents, _ := os.ReadDir(filepath.Join(dir, "corruption-advisories")); len(ents) > maxAdvisories {
		t.Errorf("%d advisories after a restart", len(ents))
	}

	full := open(t, t.TempDir(), Options{ReservedSpace: 1 << 20, FreeSpace: freeSpace(1 << 20)})
	if err := full.AdviseCorrupt(ctx, storage.Immutable, si, 0, "x"); !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("advisory into reserved space: %v", err)
	}
}

type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("body read before the upload was checked")
	return 0, errors.New("unexpected read")
}

// WriteShareFrom streams a body into a share and checks the upload before
// reading any of it.
func TestWriteShareFrom(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var si storage.SI
	data := bytes.Repeat([]byte("0123456789abcdef"), (3*StreamChunk+100)/16)
	if _, err := s.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, sec(1), []int{0}, uint64(len(data))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteShareFrom(ctx, si, 0, sec(2), 0, failReader{t}, 10); !errors.Is(err, storage.ErrUnauthorized) {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := s.WriteShareFrom(ctx, si, 0, sec(1), uint64(len(data)), failReader{t}, 10); !errors.Is(err, storage.ErrOutOfRange) {
		t.Errorf("past the allocation: %v", err)
	}
	if _, err := s.WriteShareFrom(ctx, si, 1, sec(1), 0, failReader{t}, 10); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("no upload: %v", err)
	}
	done, err := s.WriteShareFrom(ctx, si, 0, sec(1), 0, bytes.NewReader(data), uint64(len(data)))
	if err != nil || !done {
		t.Fatalf("stream: %v %v", done, err)
	}
	got, _ := s.ReadShare(ctx, si, 0, 0, uint64(len(data)))
	if !bytes.Equal(got, data) {
		t.Error("streamed share differs")
	}
}

// A change that fails part way is undone before the call returns: the
// shares it had already changed are as before, byte for byte.
func TestMutableFailedChangeUndone(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var si storage.SI
	ls := storage.LeaseSecrets{Renew: sec(1)}
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("version one")}}}}
	if _, err := s.ReadTestWrite(ctx, si, sec(5), ls, w, nil); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(s.sharePath(si, 0))
	// Share 1 cannot be created (a dangling link is in the way), after
	// share 0 has been changed.
	if err := os.Symlink(filepath.Join(dir, "nowhere"), s.sharePath(si, 1)); err != nil {
		t.Fatal(err)
	}
	w = map[int]storage.TestWrite{
		0: {Writes: []storage.WriteVector{{Offset: 8, Data: []byte("two, and longer")}}},
		1: {Writes: []storage.WriteVector{{Data: []byte("new")}}},
	}
	if r, err := s.ReadTestWrite(ctx, si, sec(5), storage.LeaseSecrets{Renew: sec(7)}, w, nil); err == nil || r.OK || !strings.Contains(err.Error(), "file exists") {
		t.Fatalf("write with share 1 blocked: %+v %v", r, err)
	}
	if got, _ := os.ReadFile(s.sharePath(si, 0)); !bytes.Equal(got, orig) {
		t.Errorf("share 0 changed by a failed call: %q", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "journal")); len(ents) != 0 {
		t.Errorf("journal left: %v", ents)
	}
}
