package mutable

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/storage"
)

const tahoeSDMFCap = "URI:SSK:gmjgofw6gan57gwpsow6gtrz3e:5adm6fayxmu3e4lkmfvt6lkkfix34ai2wop2ioqr4bgvvhiol3kq"

func tahoeShares(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < 10; i++ {
		b, err := os.ReadFile(fmt.Sprintf("testdata/tahoe-sdmf/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Shares written by Tahoe parse, and re-packing the parsed parts with our
// writer's layout gives back Tahoe's bytes exactly.
func TestTahoeSDMFSharesRepack(t *testing.T) {
	for i, b := range tahoeShares(t) {
		s, err := parseShare(b)
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		if s.h.K != 3 || s.h.N != 10 || s.h.DataLen != 21 || s.h.Seqnum != 1 {
			t.Fatalf("share %d header: k=%d N=%d len=%d seq=%d", i, s.h.K, s.h.N, s.h.DataLen, s.h.Seqnum)
		}
		r := &shareParts{h: header{Version: s.h.Version, Seqnum: s.h.Seqnum, Root: s.h.Root, Salt: s.h.Salt,
			K: s.h.K, N: s.h.N, SegSize: s.h.SegSize, DataLen: s.h.DataLen},
			verKey: s.verKey, sig: s.sig, chain: s.chain, blockTree: s.blockTree, blocks: s.blocks, privKey: s.privKey}
		if err := r.layout(); err != nil {
			t.Fatal(err)
		}
		if got := r.marshal(); !bytes.Equal(got, b) {
			t.Fatalf("share %d: repacked share differs from Tahoe's", i)
		}
	}
}

// Tahoe's shares read back through the whole stack, and a write cap
// holder recovers Tahoe's encrypted private key and publishes seqnum 2.
func TestTahoeSDMFInterop(t *testing.T) {
	ctx := context.Background()
	_, servers := grid(10)
	f, err := Open(tahoeSDMFCap, servers, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range tahoeShares(t) {
		srv := servers[i]
		r, err := srv.ReadTestWrite(ctx, f.si, f.writeEnabler(srv), storage.LeaseSecrets{},
			map[int]storage.TestWrite{i: {Writes: []storage.WriteVector{{Data: b}}}}, nil)
		if err != nil || !r.OK {
			t.Fatal(err)
		}
	}
	got, v, err := f.Read(ctx)
	if err != nil || string(got) != "This is a test file.\n" || v.Seqnum != 1 {
		t.Fatalf("read Tahoe's file: %q %v %v", got, v, err)
	}
	v2, err := f.Replace(ctx, []byte("rewritten by lafssync\n"), v)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := Open(f.ReadCap(), servers, Options{Logger: quiet})
	got, v3, err := g.Read(ctx)
	if err != nil || string(got) != "rewritten by lafssync\n" || v3 != v2 || v2.Seqnum != 2 {
		t.Fatalf("after replace: %q %v %v", got, v3, err)
	}
}

// Our shares parse strictly and have Tahoe's fixed sizes.
func TestOwnShareLayout(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		format              cap.Format
		size                int
		ver                 byte
		dataOff, segs, vkey int
	}{
		{cap.SDMF, 1000, 0, -1, 1, 294},
		{cap.MDMF, 3*(MaxSegmentSize+2) + 1, 1, mdmfShareDataOff, 4, 294},
		{cap.MDMF, 0, 1, mdmfShareDataOff, 0, 294},
		{cap.SDMF, 0, 0, -1, 0, 294},
	} {
		ms, servers, f := newFileOn(t, c.format, random(c.size), 0)
		_ = ms
		for sh, hs := range holders(ms, servers, f) {
			b, _ := servers[hs[0]].ReadMutableShare(ctx, f.si, sh, 0, 1<<30)
			s, err := parseShare(b)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != c.ver || s.h.numSegs != c.segs || len(s.verKey) != c.vkey || len(s.sig) != 256 || len(s.chain) != 4 {
				t.Fatalf("%v share %d: version %d segs %d vkey %d sig %d chain %d", c.format, sh, b[0], s.h.numSegs, len(s.verKey), len(s.sig), len(s.chain))
			}
			if c.dataOff > 0 && s.h.offData != uint64(c.dataOff) {
				t.Fatalf("MDMF share data at %d", s.h.offData)
			}
			if c.format == cap.MDMF && s.h.SegSize != 131073 {
				t.Fatalf("MDMF segment size %d, want next_multiple(131072, 3) = 131073", s.h.SegSize)
			}
		}
	}
}

func FuzzParseShare(f *testing.F) {
	for _, b := range tahoeShares(f) {
		f.Add(b)
	}
	f.Add([]byte{1})
	f.Add(make([]byte, mdmfHeaderLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseShare(b)
		if err != nil {
			return
		}
		r := &shareParts{h: header{Version: s.h.Version, Seqnum: s.h.Seqnum, Root: s.h.Root, Salt: s.h.Salt,
			K: s.h.K, N: s.h.N, SegSize: s.h.SegSize, DataLen: s.h.DataLen},
			verKey: s.verKey, sig: s.sig, chain: s.chain, blockTree: s.blockTree, blocks: s.blocks, privKey: s.privKey}
		if r.layout() == nil && r.h.Version == versionSDMF {
			_ = r.marshal()
		}
	})
}
