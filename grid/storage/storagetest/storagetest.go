// Package storagetest is a conformance suite for storage.Server
// implementations: the in-memory server, the disk store and the HTTP
// storage protocol client all run it, so the grid layer can be tested
// against one and trusted against the others.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
)

// Run runs every conformance test against fresh servers from newServer.
func Run(t *testing.T, newServer func(t *testing.T) storage.Server) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Server)
	}{
		{"Version", version},
		{"ImmutableLifecycle", immutableLifecycle},
		{"AllocateIdempotent", allocateIdempotent},
		{"WriteConflicts", writeConflicts},
		{"IncompleteInvisible", incompleteInvisible},
		{"Abort", abort},
		{"ShortReads", shortReads},
		{"MutableReadTestWrite", mutableRTW},
		{"MutableWriteEnabler", mutableWriteEnabler},
		{"MutableTruncateAndDelete", mutableTruncate},
		{"Leases", leases},
		{"ParallelWriters", parallelWriters},
		{"MutableOversizeRefused", mutableOversize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newServer(t)) })
	}
}

var ctx = context.Background()

func si(n byte) storage.SI {
	var s storage.SI
	for i := range s {
		s[i] = n + byte(i)
	}
	return s
}

func secret(n byte) storage.Secret {
	var s storage.Secret
	for i := range s {
		s[i] = n ^ byte(i*3)
	}
	return s
}

func lease(n byte) storage.LeaseSecrets {
	return storage.LeaseSecrets{Renew: secret(n), Cancel: secret(n + 100)}
}

// must turns (value, error) into value, failing the test on an error:
// must[[]int](t)(s.ListShares(ctx, si)).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func version(t *testing.T, s storage.Server) {
	v := must[storage.Version](t)(s.Version(ctx))
	if v.MaxMutableShareSize == 0 || v.AvailableSpace == 0 || v.MaxImmutableShareSize == 0 {
		t.Fatalf("version of a writable server: %+v", v)
	}
}

func immutableLifecycle(t *testing.T, s storage.Server) {
	idx := si(1)
	if got := must[[]int](t)(s.ListShares(ctx, idx)); len(got) != 0 {
		t.Fatalf("unknown index lists %v", got)
	}
	a := must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0, 3}, 10))
	if !slices.Equal(a.Allocated, []int{0, 3}) || len(a.AlreadyHave) != 0 {
		t.Fatalf("allocate: %+v", a)
	}
	for _, sh := range []int{0, 3} {
		done := must[bool](t)(s.WriteShare(ctx, idx, sh, secret(1), 0, []byte("hello")))
		if done {
			t.Fatal("complete after 5 of 10 bytes")
		}
		done = must[bool](t)(s.WriteShare(ctx, idx, sh, secret(1), 5, []byte(fmt.Sprintf("world%d", sh)[:5])))
		if !done {
			t.Fatal("not complete after all 10 bytes")
		}
	}
	if got := must[[]int](t)(s.ListShares(ctx, idx)); !slices.Equal(got, []int{0, 3}) {
		t.Fatalf("list %v", got)
	}
	if got := must[[]byte](t)(s.ReadShare(ctx, idx, 3, 0, 10)); string(got) != "helloworld" {
		t.Fatalf("read %q", got)
	}
	if got := must[[]byte](t)(s.ReadShare(ctx, idx, 0, 2, 4)); string(got) != "llow" {
		t.Fatalf("range read %q", got)
	}
	// Allocating again reports every share held, requested or not.
	a = must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(2), []int{3, 5}, 10))
	if !slices.Equal(a.AlreadyHave, []int{0, 3}) || !slices.Equal(a.Allocated, []int{5}) {
		t.Fatalf("re-allocate: %+v", a)
	}
	if _, err := s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("x")); !errors.Is(err, storage.ErrComplete) && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("write to a complete share: %v", err)
	}
	if _, err := s.ReadShare(ctx, idx, 9, 0, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("read of a missing share: %v", err)
	}
}

func allocateIdempotent(t *testing.T, s storage.Server) {
	idx := si(2)
	a1 := must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{1, 2}, 8))
	a2 := must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{1, 2}, 8))
	if !slices.Equal(a1.Allocated, a2.Allocated) || !slices.Equal(a2.Allocated, []int{1, 2}) {
		t.Fatalf("retry with the same secret: %+v then %+v", a1, a2)
	}
	// Another uploader does not get a share that is being uploaded.
	a3 := must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(2), secret(9), []int{1, 2, 4}, 8))
	if !slices.Equal(a3.Allocated, []int{4}) {
		t.Fatalf("second uploader got %+v", a3)
	}
	if _, err := s.WriteShare(ctx, idx, 1, secret(9), 0, []byte("x")); !errors.Is(err, storage.ErrUnauthorized) {
		t.Fatalf("write with another uploader's secret: %v", err)
	}
}

func writeConflicts(t *testing.T, s storage.Server) {
	idx := si(3)
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0}, 10))
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("abcdef")))
	if _, err := s.WriteShare(ctx, idx, 0, secret(1), 4, []byte("ef")); err != nil {
		t.Fatalf("identical overlapping write: %v", err)
	}
	if _, err := s.WriteShare(ctx, idx, 0, secret(1), 3, []byte("Xe")); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("conflicting overlapping write: %v", err)
	}
	if _, err := s.WriteShare(ctx, idx, 0, secret(1), 8, []byte("xyz")); !errors.Is(err, storage.ErrOutOfRange) {
		t.Fatalf("write past the allocation: %v", err)
	}
	done := must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 6, []byte("ghij")))
	if !done {
		t.Fatal("not complete")
	}
	if got := must[[]byte](t)(s.ReadShare(ctx, idx, 0, 0, 10)); string(got) != "abcdefghij" {
		t.Fatalf("after conflicts the share is %q", got)
	}
}

func incompleteInvisible(t *testing.T, s storage.Server) {
	idx := si(4)
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0}, 10))
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("half")))
	if got := must[[]int](t)(s.ListShares(ctx, idx)); len(got) != 0 {
		t.Fatalf("incomplete share listed: %v", got)
	}
	if _, err := s.ReadShare(ctx, idx, 0, 0, 4); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("incomplete share readable: %v", err)
	}
}

func abort(t *testing.T, s storage.Server) {
	idx := si(5)
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0}, 10))
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("part")))
	if err := s.AbortShare(ctx, idx, 0, secret(2)); !errors.Is(err, storage.ErrUnauthorized) {
		t.Fatalf("abort with the wrong secret: %v", err)
	}
	if err := s.AbortShare(ctx, idx, 0, secret(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortShare(ctx, idx, 0, secret(1)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second abort: %v", err)
	}
	// After an abort anyone may upload the share.
	a := must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(2), secret(2), []int{0}, 3))
	if !slices.Equal(a.Allocated, []int{0}) {
		t.Fatalf("allocate after abort: %+v", a)
	}
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(2), 0, []byte("new")))
	if err := s.AbortShare(ctx, idx, 0, secret(2)); !errors.Is(err, storage.ErrComplete) {
		t.Fatalf("abort of a complete share: %v", err)
	}
}

func shortReads(t *testing.T, s storage.Server) {
	idx := si(6)
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0}, 4))
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("data")))
	if got := must[[]byte](t)(s.ReadShare(ctx, idx, 0, 2, 100)); string(got) != "ta" {
		t.Fatalf("read past the end: %q", got)
	}
	if got := must[[]byte](t)(s.ReadShare(ctx, idx, 0, 10, 5)); len(got) != 0 {
		t.Fatalf("read starting past the end: %q", got)
	}
}

func u64(n uint64) *uint64 { return &n }

func mutableRTW(t *testing.T, s storage.Server) {
	idx := si(7)
	we := secret(7)
	// Creating: "the share does not exist" is a test of 1 byte against empty.
	create := map[int]storage.TestWrite{
		0: {Tests: []storage.TestVector{{Offset: 0, Size: 1, Specimen: []byte{}}}, Writes: []storage.WriteVector{{Offset: 0, Data: []byte("version-1")}}},
		1: {Tests: []storage.TestVector{{Offset: 0, Size: 1, Specimen: []byte{}}}, Writes: []storage.WriteVector{{Offset: 0, Data: []byte("VERSION-1")}}},
	}
	r := must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), create, []storage.ReadVector{{Offset: 0, Size: 3}}))
	if !r.OK || len(r.Reads) != 0 {
		t.Fatalf("create: %+v", r)
	}
	if got := must[[]int](t)(s.ListMutableShares(ctx, idx)); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("list %v", got)
	}
	// A failing test changes nothing and still returns the reads.
	again := must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), create, []storage.ReadVector{{Offset: 8, Size: 5}}))
	if again.OK || string(again.Reads[0][0]) != "1" || string(again.Reads[1][0]) != "1" {
		t.Fatalf("failed test: %+v", again)
	}
	upd := map[int]storage.TestWrite{0: {
		Tests:  []storage.TestVector{{Offset: 0, Size: 9, Specimen: []byte("version-1")}},
		Writes: []storage.WriteVector{{Offset: 8, Data: []byte("2!")}},
	}}
	r = must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), upd, []storage.ReadVector{{Offset: 0, Size: 100}}))
	if !r.OK || string(r.Reads[0][0]) != "version-1" {
		t.Fatalf("update: %+v", r)
	}
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 0, 0, 100)); string(got) != "version-2!" {
		t.Fatalf("after update %q", got)
	}
	// Holes read back as zeros.
	hole := map[int]storage.TestWrite{2: {Writes: []storage.WriteVector{{Offset: 4, Data: []byte("z")}}}}
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), hole, nil))
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 2, 0, 10)); !bytes.Equal(got, []byte{0, 0, 0, 0, 'z'}) {
		t.Fatalf("hole: %q", got)
	}
	if _, err := s.ReadMutableShare(ctx, idx, 7, 0, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing mutable share: %v", err)
	}
}

func mutableWriteEnabler(t *testing.T, s storage.Server) {
	idx := si(8)
	w := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Offset: 0, Data: []byte("mine")}}}}
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, secret(1), lease(1), w, nil))
	bad := map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Offset: 0, Data: []byte("evil")}}}}
	if _, err := s.ReadTestWrite(ctx, idx, secret(2), lease(1), bad, nil); !errors.Is(err, storage.ErrUnauthorized) {
		t.Fatalf("wrong write enabler: %v", err)
	}
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 0, 0, 10)); string(got) != "mine" {
		t.Fatalf("after a refused write the share is %q", got)
	}
}

func mutableTruncate(t *testing.T, s storage.Server) {
	idx := si(9)
	we := secret(9)
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{
		0: {Writes: []storage.WriteVector{{Offset: 0, Data: []byte("0123456789")}}},
		1: {Writes: []storage.WriteVector{{Offset: 0, Data: []byte("keep")}}},
	}, nil))
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: {NewLength: u64(4)}}, nil))
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 0, 0, 100)); string(got) != "0123" {
		t.Fatalf("truncate: %q", got)
	}
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: {NewLength: u64(6)}}, nil))
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 0, 0, 100)); !bytes.Equal(got, []byte("0123\x00\x00")) {
		t.Fatalf("extend: %q", got)
	}
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: {NewLength: u64(0)}}, nil))
	if got := must[[]int](t)(s.ListMutableShares(ctx, idx)); !slices.Equal(got, []int{1}) {
		t.Fatalf("after deleting share 0: %v", got)
	}
}

// mutableOversize: writes and new lengths past the advertised maximum
// mutable share size are refused (quickly, without allocating them) and
// change nothing.
func mutableOversize(t *testing.T, s storage.Server) {
	idx := si(14)
	we := secret(14)
	max := must[storage.Version](t)(s.Version(ctx)).MaxMutableShareSize
	if max == ^uint64(0) {
		t.Skip("no maximum advertised")
	}
	over := max + 1
	bad := []storage.TestWrite{
		{Writes: []storage.WriteVector{{Offset: max, Data: []byte("x")}}},
		{Writes: []storage.WriteVector{{Data: []byte("x")}}, NewLength: &over},
	}
	for i, tw := range bad {
		if r, err := s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: tw}, nil); err == nil && r.OK {
			t.Fatalf("oversize write %d on a new slot accepted", i)
		}
	}
	if got := must[[]int](t)(s.ListMutableShares(ctx, idx)); len(got) != 0 {
		t.Fatalf("refused writes created shares %v", got)
	}
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("small")}}}}, nil))
	for i, tw := range bad {
		if r, err := s.ReadTestWrite(ctx, idx, we, lease(1), map[int]storage.TestWrite{0: tw}, nil); err == nil && r.OK {
			t.Fatalf("oversize write %d on an existing share accepted", i)
		}
	}
	if got := must[[]byte](t)(s.ReadMutableShare(ctx, idx, 0, 0, 100)); string(got) != "small" {
		t.Fatalf("after refused writes the share is %q", got)
	}
}

func leases(t *testing.T, s storage.Server) {
	if err := s.AddLease(ctx, si(10), lease(1)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("lease on nothing: %v", err)
	}
	idx := si(11)
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), []int{0}, 1))
	must[bool](t)(s.WriteShare(ctx, idx, 0, secret(1), 0, []byte("x")))
	if err := s.AddLease(ctx, idx, lease(2)); err != nil {
		t.Fatalf("add lease: %v", err)
	}
	if err := s.AddLease(ctx, idx, lease(2)); err != nil {
		t.Fatalf("renew lease: %v", err)
	}
	m := si(12)
	must[storage.RTWResult](t)(s.ReadTestWrite(ctx, m, secret(1), lease(1), map[int]storage.TestWrite{0: {Writes: []storage.WriteVector{{Data: []byte("m")}}}}, nil))
	if err := s.AddLease(ctx, m, lease(3)); err != nil {
		t.Fatalf("lease on a mutable slot: %v", err)
	}
}

func parallelWriters(t *testing.T, s storage.Server) {
	idx := si(13)
	const n, size = 8, 64 << 10
	shares := make([]int, n)
	for i := range shares {
		shares[i] = i
	}
	must[storage.Allocation](t)(s.AllocateBuckets(ctx, idx, lease(1), secret(1), shares, size))
	var wg sync.WaitGroup
	errs := make(chan error, n*4)
	for sh := 0; sh < n; sh++ {
		for part := 0; part < 4; part++ {
			wg.Go(func() {
				data := bytes.Repeat([]byte{byte(sh*16 + part)}, size/4)
				if _, err := s.WriteShare(ctx, idx, sh, secret(1), uint64(part*size/4), data); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for sh := 0; sh < n; sh++ {
		got := must[[]byte](t)(s.ReadShare(ctx, idx, sh, 0, size))
		for part := 0; part < 4; part++ {
			if got[part*size/4] != byte(sh*16+part) || got[(part+1)*size/4-1] != byte(sh*16+part) {
				t.Fatalf("share %d part %d wrong", sh, part)
			}
		}
	}
}
