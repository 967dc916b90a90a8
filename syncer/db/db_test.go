package db

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/syncer/vv"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sync.db")
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, p
}

func sampleRecord(content string) Record {
	h := sha256.Sum256([]byte(content))
	return Record{
		Size: int64(len(content)), MtimeNs: 1_700_000_000_123_456_789, Inode: 4242, Mode: 0o644,
		Hash: h, Key: [16]byte{1, 2, 3},
		Synced: true, Cap: "URI:LIT:" + content, Ver: vv.Vector{"devA": 3, "devB": 1}, SyncedHash: h,
	}
}

func put(t *testing.T, f *Folder, path string, r Record) {
	t.Helper()
	if err := f.Update(func(tx *Tx) error { return tx.Put(path, r) }); err != nil {
		t.Fatal(err)
	}
}

func byHash(t *testing.T, f *Folder, h [32]byte) (string, bool) {
	t.Helper()
	var p string
	var ok bool
	if err := f.View(func(tx *Tx) error {
		var err error
		p, _, ok, err = tx.ByHash(h)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p, ok
}

func TestRoundTrip(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("docs")
	want := sampleRecord("hello")
	want.Pending = true
	put(t, f, "a/b.txt", want)
	got, ok, err := f.Get("a/b.txt")
	if err != nil || !ok {
		t.Fatalf("Get: ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if _, ok, err := f.Get("a/c.txt"); ok || err != nil {
		t.Fatalf("missing path: ok=%v err=%v", ok, err)
	}
	// Another folder does not see it.
	if _, ok, _ := d.Folder("other").Get("a/b.txt"); ok {
		t.Fatal("record visible in another folder")
	}
}

func TestHashIndexFollowsPutDeleteOverwrite(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	r1 := sampleRecord("one")
	r2 := sampleRecord("two")
	put(t, f, "x", r1)
	if p, ok := byHash(t, f, r1.SyncedHash); !ok || p != "x" {
		t.Fatalf("ByHash after Put = %q, %v", p, ok)
	}
	// Same content under a second path: deleting one keeps the other.
	put(t, f, "y", r1)
	if err := f.Update(func(tx *Tx) error { return tx.Delete("x") }); err != nil {
		t.Fatal(err)
	}
	if p, ok := byHash(t, f, r1.SyncedHash); !ok || p != "y" {
		t.Fatalf("ByHash after deleting one of two = %q, %v", p, ok)
	}
	// Overwrite y with other content: the old hash no longer finds it.
	put(t, f, "y", r2)
	if p, ok := byHash(t, f, r1.SyncedHash); ok {
		t.Fatalf("old hash still finds %q after overwrite", p)
	}
	if p, ok := byHash(t, f, r2.SyncedHash); !ok || p != "y" {
		t.Fatalf("new hash = %q, %v", p, ok)
	}
	// A record that is not synced is not in the index.
	r3 := sampleRecord("three")
	r3.Synced, r3.Cap, r3.Ver = false, "", nil
	put(t, f, "z", r3)
	if p, ok := byHash(t, f, r3.SyncedHash); ok {
		t.Fatalf("unsynced record found by hash at %q", p)
	}
	// A Gone synced record is still found: its content is on the grid.
	r2.Gone = true
	put(t, f, "y", r2)
	if p, ok := byHash(t, f, r2.SyncedHash); !ok || p != "y" {
		t.Fatalf("gone record by hash = %q, %v", p, ok)
	}
	if err := f.Update(func(tx *Tx) error { return tx.Delete("y") }); err != nil {
		t.Fatal(err)
	}
	if p, ok := byHash(t, f, r2.SyncedHash); ok {
		t.Fatalf("deleted record found by hash at %q", p)
	}
}

func TestPending(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	for _, p := range []string{"c", "a", "b", "d"} {
		r := sampleRecord(p)
		r.Pending = p != "d"
		put(t, f, p, r)
	}
	// b is committed: no longer pending.
	r := sampleRecord("b")
	put(t, f, "b", r)
	// a is deleted.
	if err := f.Update(func(tx *Tx) error { return tx.Delete("a") }); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := f.View(func(tx *Tx) error {
		return tx.Pending(func(p string, r Record) error {
			if !r.Pending {
				t.Errorf("%s visited but not pending", p)
			}
			got = append(got, p)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"c"}) {
		t.Fatalf("pending = %q, want [c]", got)
	}
}

func TestForEachPrefix(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	paths := []string{"a/x", "a/y/z", "ab/x", "a", "b/c", "a0"}
	if err := f.Update(func(tx *Tx) error {
		for _, p := range paths {
			if err := tx.Put(p, sampleRecord(p)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	visit := func(prefix string) []string {
		var got []string
		if err := f.View(func(tx *Tx) error {
			return tx.ForEach(prefix, func(p string, r Record) error {
				if r.Cap != "URI:LIT:"+p {
					t.Errorf("%s has the record of %s", p, r.Cap)
				}
				got = append(got, p)
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := visit("a/"); !slices.Equal(got, []string{"a/x", "a/y/z"}) {
		t.Fatalf(`ForEach("a/") = %q`, got)
	}
	all := slices.Clone(paths)
	slices.Sort(all)
	if got := visit(""); !slices.Equal(got, all) {
		t.Fatalf(`ForEach("") = %q, want %q`, got, all)
	}
	if got := visit("zz"); len(got) != 0 {
		t.Fatalf(`ForEach("zz") = %q`, got)
	}
	var n int
	f.View(func(tx *Tx) error { n, _ = tx.Count(); return nil })
	if n != len(paths) {
		t.Fatalf("Count = %d, want %d", n, len(paths))
	}
	// A stop error from fn ends the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	err := f.View(func(tx *Tx) error {
		return tx.ForEach("", func(string, Record) error { calls++; return stop })
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestMeta(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	if err := f.Update(func(tx *Tx) error { return tx.PutMeta("generation", []byte("17")) }); err != nil {
		t.Fatal(err)
	}
	var v, none []byte
	f.View(func(tx *Tx) error {
		v, _ = tx.GetMeta("generation")
		none, _ = tx.GetMeta("never")
		return nil
	})
	if string(v) != "17" || none != nil {
		t.Fatalf("meta = %q, %q", v, none)
	}
	// Meta is not a record.
	f.View(func(tx *Tx) error {
		n, _ := tx.Count()
		if n != 0 {
			t.Errorf("Count = %d with only meta", n)
		}
		return nil
	})
	// Reading meta from a folder never written is not an error.
	if err := d.Folder("new").View(func(tx *Tx) error {
		v, err := tx.GetMeta("generation")
		if v != nil {
			t.Errorf("meta of an empty folder = %q", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateIsAtomic(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	put(t, f, "keep", sampleRecord("keep"))
	boom := errors.New("boom")
	err := f.Update(func(tx *Tx) error {
		if err := tx.Put("new", sampleRecord("new")); err != nil {
			return err
		}
		if err := tx.Delete("keep"); err != nil {
			return err
		}
		tx.PutMeta("m", []byte("x"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := f.Get("new"); ok {
		t.Fatal("Put of a failed Update landed")
	}
	if _, ok, _ := f.Get("keep"); !ok {
		t.Fatal("Delete of a failed Update landed")
	}
	if p, ok := byHash(t, f, sampleRecord("new").SyncedHash); ok {
		t.Fatalf("hash index of a failed Update landed: %q", p)
	}
}

func TestViewCannotWrite(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	put(t, f, "x", sampleRecord("x"))
	if err := f.View(func(tx *Tx) error { return tx.Put("y", sampleRecord("y")) }); err == nil {
		t.Fatal("Put in View succeeded")
	}
}

func TestDropFolder(t *testing.T) {
	d, _ := openTemp(t)
	a, b := d.Folder("a"), d.Folder("b")
	put(t, a, "x", sampleRecord("x"))
	put(t, b, "x", sampleRecord("x"))
	a.Update(func(tx *Tx) error { return tx.PutMeta("m", []byte("1")) })
	if ids, _ := d.Folders(); !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("Folders = %q", ids)
	}
	if err := d.DropFolder("a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Get("x"); ok {
		t.Fatal("record survived DropFolder")
	}
	a.View(func(tx *Tx) error {
		if m, _ := tx.GetMeta("m"); m != nil {
			t.Errorf("meta survived DropFolder: %q", m)
		}
		if _, _, ok, _ := tx.ByHash(sampleRecord("x").SyncedHash); ok {
			t.Error("hash index survived DropFolder")
		}
		return nil
	})
	if _, ok, _ := b.Get("x"); !ok {
		t.Fatal("DropFolder(a) removed b's record")
	}
	if err := d.DropFolder("never-there"); err != nil {
		t.Fatalf("DropFolder of an unknown folder: %v", err)
	}
	// The folder can be used again after the drop.
	put(t, a, "y", sampleRecord("y"))
	if _, ok, _ := a.Get("y"); !ok {
		t.Fatal("folder unusable after drop")
	}
}

func TestReopenKeepsData(t *testing.T) {
	d, p := openTemp(t)
	put(t, d.Folder("f"), "x", sampleRecord("x"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("database mode %o, want 600", m)
	}
	d2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	got, ok, err := d2.Folder("f").Get("x")
	if err != nil || !ok || !reflect.DeepEqual(got, sampleRecord("x")) {
		t.Fatalf("after reopen: %+v ok=%v err=%v", got, ok, err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	_, p := openTemp(t)
	start := time.Now()
	d2, err := Open(p)
	if err == nil {
		d2.Close()
		t.Fatal("second Open of a held database succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("second Open took %v, want about a second", el)
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	put(t, f, "x", sampleRecord("x"))
	// Overwrite the raw value behind the API's back.
	if err := f.Update(func(tx *Tx) error { return tx.records.Put([]byte("x"), []byte{9, 9, 9}) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Get("x"); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("Get of a corrupt record: %v", err)
	}
	// Overwriting it repairs the path and its index.
	put(t, f, "x", sampleRecord("y"))
	if p, ok := byHash(t, f, sampleRecord("y").SyncedHash); !ok || p != "x" {
		t.Fatalf("ByHash after repair = %q %v", p, ok)
	}
	if p, ok := byHash(t, f, sampleRecord("x").SyncedHash); ok {
		t.Fatalf("stale index entry %q after repair", p)
	}
}

func TestRecordEncoding(t *testing.T) {
	for _, r := range []Record{
		{},
		sampleRecord(""),
		{Size: 1 << 40, MtimeNs: -5, Inode: ^uint64(0), Mode: 0o4755, Gone: true, Pending: true},
	} {
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip %+v -> %+v", r, got)
		}
		// Every truncation and a trailing byte are rejected.
		for i := range len(b) {
			if err := got.UnmarshalBinary(b[:i]); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("truncated to %d: %v", i, err)
			}
		}
		if err := got.UnmarshalBinary(append(bytes.Clone(b), 0)); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
	if _, err := (Record{Size: -1}).MarshalBinary(); err == nil {
		t.Fatal("negative size encoded")
	}
	b, _ := sampleRecord("x").MarshalBinary()
	b[0] = 2
	var r Record
	if err := r.UnmarshalBinary(b); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("unknown version: %v", err)
	}
}

func FuzzRecord(f *testing.F) {
	for _, r := range []Record{{}, sampleRecord("seed"), {Gone: true, Pending: true, Size: 7}} {
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := r.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error not ErrBadRecord: %v", err)
			}
			return
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		var r2 Record
		if err := r2.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("%+v != %+v", r, r2)
		}
	})
}

// TestSecondProcessIsLocked opens the database in a child process (this
// test binary, re-run as helperOpen) while this process holds it.
func TestSecondProcessIsLocked(t *testing.T) {
	if p := os.Getenv("LAFSSYNC_DB_HELPER_OPEN"); p != "" {
		d, err := Open(p)
		if errors.Is(err, ErrLocked) {
			os.Exit(3)
		}
		if err == nil {
			d.Close()
		}
		os.Exit(4)
	}
	_, p := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessIsLocked$")
	cmd.Env = append(os.Environ(), "LAFSSYNC_DB_HELPER_OPEN="+p)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child Open: %v, want exit 3 (ErrLocked)", err)
	}
}

func TestForEachMetaByPrefix(t *testing.T) {
	d, _ := openTemp(t)
	f := d.Folder("f")
	if err := f.Update(func(tx *Tx) error {
		for _, k := range []string{"landing:b", "generation", "landing:a", "landinz", "landing"} {
			if err := tx.PutMeta(k, []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := f.View(func(tx *Tx) error {
		return tx.ForEachMeta("landing:", func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if want := "landing:a=vlanding:a landing:b=vlanding:b"; strings.Join(got, " ") != want {
		t.Fatalf("ForEachMeta(landing:) = %q, want %q", got, want)
	}
	// A folder never written has none.
	if err := d.Folder("empty").View(func(tx *Tx) error {
		return tx.ForEachMeta("", func(k string, _ []byte) error { return fmt.Errorf("key %q in an empty folder", k) })
	}); err != nil {
		t.Fatal(err)
	}
}
