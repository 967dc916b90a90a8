package dirnode

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/taghash"
)

// fakeFile is an in-memory mutable file with a hook to fail writes.
type fakeFile struct {
	mu      sync.Mutex
	data    []byte
	seq     uint64
	replace func(n int) error // called before each write; non-nil error fails it
	writes  int
	read    func(n int) error // called before each read; non-nil error fails it
	reads   int
}

func (f *fakeFile) Read(context.Context) ([]byte, mutable.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.read != nil {
		if err := f.read(f.reads); err != nil {
			return nil, mutable.Version{}, err
		}
	}
	return bytes.Clone(f.data), mutable.Version{Seqnum: f.seq}, nil
}

func (f *fakeFile) Replace(_ context.Context, data []byte, basedOn mutable.Version) (mutable.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.replace != nil {
		if err := f.replace(f.writes); err != nil {
			return mutable.Version{}, err
		}
	}
	if basedOn.Seqnum != f.seq {
		return mutable.Version{}, mutable.ErrUncoordinated
	}
	f.data, f.seq = bytes.Clone(data), f.seq+1
	return mutable.Version{Seqnum: f.seq}, nil
}

func fakeDir(t testing.TB, f *fakeFile, wk byte) *Directory {
	t.Helper()
	var k [16]byte
	for i := range k {
		k[i] = wk
	}
	c, err := cap.Parse("URI:DIR2:" + b32(k[:]) + ":" + b32(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(f, c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func b32(b []byte) string {
	const alpha = "abcdefghijklmnopqrstuvwxyz234567"
	var out strings.Builder
	var acc, bits uint
	for _, x := range b {
		acc, bits = acc<<8|uint(x), bits+8
		for bits >= 5 {
			out.WriteByte(alpha[(acc>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		out.WriteByte(alpha[(acc<<(5-bits))&31])
	}
	return out.String()
}

// Another writer winning every time exhausts the bounded retries with
// ErrBusy, and nothing is written.
func TestRetriesExhausted(t *testing.T) {
	f := &fakeFile{replace: func(int) error { return mutable.ErrUncoordinated }}
	d := fakeDir(t, f, 1)
	err := d.Set(ctx, "a", "URI:LIT:", "", nil, false)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want ErrBusy", err)
	}
	if f.writes != MaxAttempts {
		t.Errorf("%d writes attempted, want %d", f.writes, MaxAttempts)
	}
	// Other write errors are returned at once, not retried.
	boom := errors.New("servers unreachable")
	f = &fakeFile{replace: func(int) error { return boom }}
	if err := fakeDir(t, f, 1).Delete(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing name: %v", err)
	}
	if err := fakeDir(t, f, 1).Set(ctx, "a", "URI:LIT:", "", nil, false); !errors.Is(err, boom) || f.writes != 1 {
		t.Errorf("got %v after %d writes", err, f.writes)
	}
}

// A move whose unlink from the source fails leaves the child in both
// directories, never in neither.
func TestMoveNeverLosesTheChild(t *testing.T) {
	src := &fakeFile{}
	dst := &fakeFile{}
	s, d := fakeDir(t, src, 1), fakeDir(t, dst, 2)
	if err := s.Set(ctx, "doc", "URI:CHK:r", "", map[string]any{"lafssync": "x"}, false); err != nil {
		t.Fatal(err)
	}
	src.replace = func(int) error { return errors.New("disk on fire") }
	err := Move(ctx, s, "doc", d, "moved", false)
	if err == nil || !strings.Contains(err.Error(), "not removed from the source") {
		t.Fatalf("move error: %v", err)
	}
	if _, err := s.Get(ctx, "doc"); err != nil {
		t.Errorf("source lost the child: %v", err)
	}
	e, err := d.Get(ctx, "moved")
	if err != nil || e.ReadCap != "URI:CHK:r" || e.Metadata["lafssync"] != "x" {
		t.Errorf("target: %+v %v", e, err)
	}
	// A failed link into the target leaves the source untouched.
	src.replace = nil
	dst.replace = func(int) error { return errors.New("target unreachable") }
	if err := Move(ctx, s, "doc", d, "other", false); err == nil {
		t.Fatal("move succeeded with the target failing")
	}
	if _, err := s.Get(ctx, "doc"); err != nil {
		t.Errorf("source lost the child: %v", err)
	}
}

// The write-cap column built by hand from the documented layout:
// salt = tagged hash of the write cap, key = tagged pair hash of salt and
// directory write key, AES-128-CTR from a zero counter, then Tahoe's
// unpadded HMAC-SHA256 over salt ‖ ciphertext.
func TestWriteCapColumnKnownLayout(t *testing.T) {
	wk := bytes.Repeat([]byte{0x42}, 16)
	const rw, ro = "URI:SSK:aaaa:bbbb", "URI:SSK-RO:cccc:dddd"
	h := taghash.New("allmydata_dirnode_child_rwcap_to_salt_v1")
	h.Write([]byte(rw))
	salt := h.Sum()
	h = taghash.New("allmydata_mutable_writekey_and_salt_to_dirnode_child_capkey_v1")
	h.Write(taghash.Netstring(salt[:16]))
	h.Write(taghash.Netstring(wk))
	key := h.Sum()
	blk, _ := aes.NewCipher(key[:16])
	ct := make([]byte, len(rw))
	cipher.NewCTR(blk, make([]byte, 16)).XORKeyStream(ct, []byte(rw))
	body := append(append([]byte{}, salt[:16]...), ct...)
	var ipad, opad []byte
	for _, k := range key[:16] {
		ipad, opad = append(ipad, k^0x36), append(opad, k^0x5c)
	}
	inner := sha256.Sum256(append(ipad, body...))
	mac := sha256.Sum256(append(opad, inner[:]...))
	col := append(body, mac[:]...)
	ns := func(s []byte) string { return strconv.Itoa(len(s)) + ":" + string(s) + "," }
	md := `{"tahoe": {"linkcrtime": 1.5, "linkmotime": 2.5}}`
	want := ns([]byte(ns([]byte("d")) + ns([]byte(ro)) + ns(col) + ns([]byte(md))))
	got, err := Pack(Entries{"d": {ReadCap: ro, WriteCap: rw, Metadata: map[string]any{
		"tahoe": map[string]any{"linkcrtime": 1.5, "linkmotime": 2.5}}}}, wk, false)
	if err != nil || string(got) != want {
		t.Fatalf("packed\n%q\nwant\n%q (%v)", got, want, err)
	}
}

// BenchmarkAddEntryFake adds one entry to a directory of 10, 1,000 and
// 10,000 entries held in an in-memory fake file: the directory layer's own
// cost (unpack with write-cap decryption when fresh, pack), without
// publishing.
func BenchmarkAddEntryFake(b *testing.B) {
	for _, size := range []int{10, 1000, 10000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			f := &fakeFile{}
			d := fakeDir(b, f, 3)
			err := d.Modify(ctx, func(es Entries) error {
				for i := 0; i < size; i++ {
					es["file-"+strconv.Itoa(i)] = &Entry{
						ReadCap:  "URI:SSK-RO:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a",
						WriteCap: "URI:SSK:hf4bemrcb3gp3zqzwbvccrswiu:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a",
						Metadata: map[string]any{"tahoe": map[string]any{"linkcrtime": 1.7e9, "linkmotime": 1.7e9}, "lafssync": map[string]any{"size": 56.0, "mtime": 1.7e9}},
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			b.Run("cached", func(b *testing.B) {
				for b.Loop() {
					i++
					if err := d.Set(ctx, "new-"+strconv.Itoa(i), "URI:LIT:", "", nil, false); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("fresh", func(b *testing.B) {
				for b.Loop() {
					i++
					if err := fakeDir(b, f, 3).Set(ctx, "new-"+strconv.Itoa(i), "URI:LIT:", "", nil, false); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
