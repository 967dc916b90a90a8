package syncbench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// Tree is a generated folder: Files files whose sizes add up to exactly
// Bytes, spread over directories of at most 100 files (d00/s00/f00000.bin
// …), every byte a function of Seed and the file's index.
type Tree struct {
	Files int
	Bytes int64
	Seed  uint64
	// Fixed gives every file the same size, Bytes/Files (the rest to the
	// last file); otherwise sizes follow an exponential distribution
	// around that mean, as real folders have many small files and a few
	// large ones.
	Fixed bool
}

// Path is file i's slash-separated path inside the tree.
func (t Tree) Path(i int) string {
	leaf := i / 100
	return fmt.Sprintf("d%02d/s%02d/f%05d.bin", leaf/10, leaf%10, i)
}

// Sizes returns every file's size; they add up to t.Bytes.
func (t Tree) Sizes() []int64 {
	sizes := make([]int64, t.Files)
	if t.Files == 0 {
		return sizes
	}
	if t.Fixed {
		each := t.Bytes / int64(t.Files)
		for i := range sizes {
			sizes[i] = each
		}
		sizes[t.Files-1] += t.Bytes - each*int64(t.Files)
		return sizes
	}
	r := rand.New(rand.NewPCG(t.Seed, 0x73697a6573)) // "sizes"
	w := make([]float64, t.Files)
	var sum float64
	for i := range w {
		w[i] = -math.Log(1 - r.Float64()) // exponential, mean 1
		sum += w[i]
	}
	var total int64
	for i := range sizes {
		sizes[i] = int64(float64(t.Bytes) * w[i] / sum)
		total += sizes[i]
	}
	sizes[t.Files-1] += t.Bytes - total
	return sizes
}

// Content is a reader of n deterministic bytes for (seed, i).
func Content(seed uint64, i int, n int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(i))
	copy(key[16:], "lafssync-bench!!")
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// Write makes the tree under dir (which may exist) and returns its total
// size.
func (t Tree) Write(dir string) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for i, size := range t.Sizes() {
		p := filepath.Join(dir, filepath.FromSlash(t.Path(i)))
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return total, err
			}
		}
		if err := writeFile(p, Content(t.Seed, i, size), buf); err != nil {
			return total, err
		}
		total += size
	}
	// Flush the fixture to disk before anything is timed: otherwise the
	// first fsync or syncfs of the product under test (LAFS Sync's
	// storage servers sync their filesystem, Syncthing fsyncs each file
	// it receives) pays for writing back the tree just made.
	syscall.Sync()
	return total, nil
}

// WriteFile writes n deterministic bytes for (seed, 0) to path.
func WriteFile(path string, seed uint64, n int64) error {
	err := writeFile(path, Content(seed, 0, n), make([]byte, 1<<20))
	syscall.Sync() // as Tree.Write
	return err
}

func writeFile(path string, r io.Reader, buf []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(f, r, buf); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// Verify checks that dir holds the tree, byte for byte; it returns the
// first difference.
func (t Tree) Verify(dir string) error {
	for i, size := range t.Sizes() {
		p := filepath.Join(dir, filepath.FromSlash(t.Path(i)))
		if err := verifyFile(p, Content(t.Seed, i, size)); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(path string, want io.Reader) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return SameContent(path, f, want)
}

// SameContent compares got with want to the end of both; what names got
// in the error.
func SameContent(what string, got, want io.Reader) error {
	g, w := bufio.NewReaderSize(got, 1<<20), bufio.NewReaderSize(want, 1<<20)
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		n, errW := io.ReadFull(w, b)
		m, errG := io.ReadFull(g, a[:n])
		if m != n || !bytes.Equal(a[:m], b[:n]) {
			return fmt.Errorf("%s differs from the generated content near byte %d", what, off)
		}
		off += int64(n)
		if errW == io.EOF || errW == io.ErrUnexpectedEOF {
			if k, _ := g.Read(a[:1]); k > 0 {
				return fmt.Errorf("%s is longer than the generated content (%d bytes)", what, off)
			}
			return nil
		}
		if errW != nil {
			return errW
		}
		if errG != nil {
			return fmt.Errorf("%s: %w", what, errG)
		}
	}
}
