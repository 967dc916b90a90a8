package syncbench

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestTreeSizesAddUpAndRepeat(t *testing.T) {
	for _, tr := range []Tree{
		{Files: 10000, Bytes: 1 << 30, Seed: 1},
		{Files: 7, Bytes: 100, Seed: 2, Fixed: true},
		{Files: 1, Bytes: 5, Seed: 3},
	} {
		a, b := tr.Sizes(), tr.Sizes()
		var sum int64
		for i, n := range a {
			if n < 0 {
				t.Fatalf("%+v: file %d has size %d", tr, i, n)
			}
			if b[i] != n {
				t.Fatalf("%+v: file %d: size %d then %d", tr, i, n, b[i])
			}
			sum += n
		}
		if len(a) != tr.Files || sum != tr.Bytes {
			t.Errorf("%+v: %d files of %d bytes in all", tr, len(a), sum)
		}
	}
	if got := (Tree{Files: 10000}).Path(9999); got != "d09/s09/f09999.bin" {
		t.Errorf("Path(9999) = %q", got)
	}
}

func TestTreeWriteVerify(t *testing.T) {
	dir := t.TempDir()
	tr := Tree{Files: 250, Bytes: 300000, Seed: 9}
	total, err := tr.Write(dir)
	if err != nil || total != tr.Bytes {
		t.Fatalf("Write: %d bytes, %v", total, err)
	}
	if err := tr.Verify(dir); err != nil {
		t.Fatalf("Verify of what Write wrote: %v", err)
	}
	// Another seed's content, a flipped byte and a longer file all fail.
	if err := (Tree{Files: 250, Bytes: 300000, Seed: 10}).Verify(dir); err == nil {
		t.Error("Verify passed another seed's tree")
	}
	p := filepath.Join(dir, filepath.FromSlash(tr.Path(3)))
	b, _ := os.ReadFile(p)
	if len(b) == 0 {
		t.Fatalf("%s is empty", p)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)
	if err := tr.Verify(dir); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("Verify after a flipped byte: %v", err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(p, append(b, 'x'), 0o644)
	if err := tr.Verify(dir); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Errorf("Verify of a longer file: %v", err)
	}
}

func TestContentIsDeterministicPerFile(t *testing.T) {
	read := func(seed uint64, i int) []byte {
		b, err := io.ReadAll(Content(seed, i, 1000))
		if err != nil || len(b) != 1000 {
			t.Fatalf("Content(%d, %d): %d bytes, %v", seed, i, len(b), err)
		}
		return b
	}
	if !bytes.Equal(read(1, 2), read(1, 2)) {
		t.Error("same seed and index, different content")
	}
	if bytes.Equal(read(1, 2), read(1, 3)) || bytes.Equal(read(1, 2), read(2, 2)) {
		t.Error("different files, same content")
	}
}

func TestEditsChangeContent(t *testing.T) {
	dir := t.TempDir()
	if err := WriteEditFiles(dir); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * len(EditPaths) {
		p := filepath.Join(dir, filepath.FromSlash(EditPath(i)))
		before, _ := os.ReadFile(p)
		if err := Edit(dir, i); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before, EditContent(i)) || !hasContent(p, EditContent(i)) || len(EditContent(i)) != EditSize {
			t.Fatalf("edit %d of %s did not give it new content of %d bytes", i, EditPath(i), EditSize)
		}
	}
	if !bytes.Equal(FirstEditContent(EditPaths[1]), EditContent(-2)) {
		t.Error("FirstEditContent is not what WriteEditFiles wrote")
	}
}

func TestPercentile(t *testing.T) {
	var l Latencies
	for i := 1; i <= 200; i++ {
		l = append(l, time.Duration(201-i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {95, 190 * time.Millisecond}, {100, 200 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := l.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Latencies(nil).Percentile(50) != 0 || l.Max() != 200*time.Millisecond {
		t.Error("empty set or Max wrong")
	}
	if l[0] != 200*time.Millisecond {
		t.Error("Percentile sorted its receiver")
	}
}

func TestProcReadersOnSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("ReadMemory(self) = %+v, %v", m, err)
	}
	c0, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's tick accounting notices (bounded).
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1 << 20 {
			x += i
		}
		if c1, _ := ReadCPU(os.Getpid()); c1 > c0 {
			return
		}
	}
	t.Errorf("ReadCPU did not grow after 10 s of work (%d)", x)
}
