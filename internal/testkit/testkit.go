// Package testkit holds what several packages' tests share: a large
// deterministic input that costs no memory, bounded waiting, and counting
// a storage node's shares on disk. Tests only.
package testkit

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Pattern is Size deterministic bytes, readable and seekable without
// holding them (a stand-in for a large file).
type Pattern struct {
	Size, off int64
}

// NewPattern returns a Pattern of size bytes.
func NewPattern(size int64) *Pattern { return &Pattern{Size: size} }

func (p *Pattern) Read(b []byte) (int, error) {
	if p.off >= p.Size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.Size-p.off))
	for i := range b[:n] {
		x := p.off + int64(i)
		b[i] = byte(x ^ x>>9 ^ x>>17)
	}
	p.off += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (p *Pattern) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		p.off = off
	case io.SeekCurrent:
		p.off += off
	case io.SeekEnd:
		p.off = p.Size + off
	}
	return p.off, nil
}

// WaitFor polls cond until it holds, failing the test after d.
func WaitFor(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	if !Poll(d, cond) {
		tb.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Poll calls cond every 20 ms until it holds (true) or d has
// passed (false), for a test that reports the failure itself.
func Poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// CheckGoroutines fails tb at its cleanup if goroutines it started are
// still running then (goleak retries for a bounded time first, so
// goroutines that are finishing are not reported).
func CheckGoroutines(tb testing.TB) {
	tb.Helper()
	before := goleak.IgnoreCurrent()
	tb.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			tb.Errorf("goroutines left running: %v", err)
		}
	})
}

// VerifyNoLeaks is a TestMain body: it runs the tests, then cleanups
// (closing what the package's tests share, such as a key pool), and fails
// the test binary if goroutines other than the runtime's remain.
func VerifyNoLeaks(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// CountShares counts the complete shares in a storage node's directory.
func CountShares(nodeDir string) int {
	k := 0
	filepath.WalkDir(filepath.Join(nodeDir, "storage", "shares"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, "incoming") {
			k++
		}
		return nil
	})
	return k
}

// RunWithLafs is a TestMain body for tests that run the lafs binary as
// separate processes: it builds lafs into a temporary directory, sets
// *bin to its path, runs the tests, cleans up and exits.
func RunWithLafs(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "lafs-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "lafs")
	if out, err := exec.Command("go", "build", "-o", *bin, "github.com/lafssync/lafssync/app/cmd/lafs").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build lafs: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
