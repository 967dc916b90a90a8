package webapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/node/client"
)

// inMemory is the largest PUT body kept in memory; larger ones are
// spooled to NODEDIR/tmp (the convergent key needs the whole plaintext
// before encoding starts), as Tahoe does.
const inMemory = 4 << 20

// Spool files are NODEDIR/tmp/lafs-put-*.spool. On systems that allow
// it the file is unlinked as soon as it is created, so even a crash
// leaves nothing; SweepSpool removes what is left elsewhere.
const (
	spoolPrefix = "lafs-put-"
	spoolSuffix = ".spool"
)

// SpoolDir is where the web API spools PUT bodies in a node directory.
func SpoolDir(nodeDir string) string { return filepath.Join(nodeDir, "tmp") }

// SweepSpool removes the spool files a web API of nodeDir left behind
// (a crash mid-upload), and only those: other files in NODEDIR/tmp are
// not the web API's. Call it when the node starts, before serving (the
// node directory lock keeps a second node from serving meanwhile). It
// returns how many it removed.
func SweepSpool(nodeDir string) (int, error) {
	dir := SpoolDir(nodeDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep web API spool files in %s: %w", dir, err)
	}
	removed := 0
	var errs []error
	for _, e := range ents {
		if !e.Type().IsRegular() || !isSpoolName(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("sweep web API spool files in %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}

// isSpoolName reports whether name is one of ours: lafs-put-*.spool, or
// upload-DIGITS, the spool name before 2026-12 (os.CreateTemp's random
// part is decimal digits).
func isSpoolName(name string) bool {
	if strings.HasPrefix(name, spoolPrefix) && strings.HasSuffix(name, spoolSuffix) {
		return true
	}
	digits, ok := strings.CutPrefix(name, "upload-")
	if !ok || digits == "" {
		return false
	}
	return strings.Trim(digits, "0123456789") == ""
}

// spoolError is a failure to keep the body on this machine (a full disk),
// not a bad request.
type spoolError struct{ err error }

func (e *spoolError) Error() string {
	return "cannot keep the upload on this machine (free space in the node directory's tmp/): " + e.err.Error()
}
func (e *spoolError) Unwrap() error { return e.err }

// bodyError is a failure reading the request body (the client went away
// or sent less than it announced).
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "read the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// received is a PUT body made seekable, read from the request once.
type received struct {
	r    io.ReadSeeker
	size int64
	// key is the file's key, hashed while the body was read (known
	// length), or nil (the upload hashes it in a first pass).
	key  *[16]byte
	done func() // releases the spool file, if any
}

// receive reads body (length bytes, or -1 if unknown) into memory when
// small, else into a spool file in tmpDir. With a known length it also
// hashes the convergent key on the way (keyer), so that the upload reads
// the body only once more.
func receive(body io.Reader, length int64, tmpDir string, keyer func(size int64) (*immutable.KeyHasher, error)) (*received, error) {
	var kh *immutable.KeyHasher
	if length >= 0 {
		var err error
		if kh, err = keyer(length); err != nil {
			return nil, err
		}
	}
	var head []byte
	switch {
	case length >= 0 && length <= inMemory:
		// Known and small: one allocation of the right size.
		head = make([]byte, length)
		if _, err := io.ReadFull(body, head); err != nil {
			return nil, &bodyError{err}
		}
		kh.Write(head)
		return finish(&received{r: bytes.NewReader(head), size: length, done: func() {}}, kh)
	case length < 0:
		var err error
		if head, err = io.ReadAll(io.LimitReader(body, inMemory+1)); err != nil {
			return nil, &bodyError{err}
		}
		if len(head) <= inMemory {
			return &received{r: bytes.NewReader(head), size: int64(len(head)), done: func() {}}, nil
		}
	}
	f, err := createSpool(tmpDir)
	if err != nil {
		return nil, &spoolError{err}
	}
	done := func() {
		f.Close()
		os.Remove(f.Name()) // already gone where unlinking early works
	}
	var sink io.Writer = f
	if kh != nil {
		sink = &spoolSink{f: f, kh: kh}
	}
	n, err := copyBody(sink, io.MultiReader(bytes.NewReader(head), body))
	if err != nil {
		done()
		return nil, err
	}
	if length >= 0 && n != length {
		done()
		return nil, &bodyError{fmt.Errorf("got %d bytes, Content-Length said %d", n, length)}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		done()
		return nil, &spoolError{err}
	}
	rc, err := finish(&received{r: f, size: n, done: done}, kh)
	if err != nil {
		done()
	}
	return rc, err
}

// createSpool makes a spool file, unlinked at once where open files can
// be unlinked (not Windows), so that nothing is left even after kill -9.
func createSpool(tmpDir string) (*os.File, error) {
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmpDir, spoolPrefix+"*"+spoolSuffix)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" {
		os.Remove(f.Name())
	}
	return f, nil
}

// finish records kh's key in rc, if there is a hasher.
func finish(rc *received, kh *immutable.KeyHasher) (*received, error) {
	if kh == nil {
		return rc, nil
	}
	key, err := kh.Key()
	if err != nil {
		return nil, &bodyError{err}
	}
	rc.key = &key
	return rc, nil
}

// spoolSink writes to the spool file and hashes the key.
type spoolSink struct {
	f  *os.File
	kh *immutable.KeyHasher
}

func (s *spoolSink) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.kh.Write(p[:n])
	return n, err
}

// copyBody copies the request body to the spool, telling a failure to
// write (spoolError) from a failure to read (bodyError). Reading the
// next chunk overlaps with writing and hashing the last one (three 1 MiB
// buffers in turn).
func copyBody(sink io.Writer, body io.Reader) (int64, error) {
	const chunk, bufs = 1 << 20, 3
	free := make(chan []byte, bufs)
	for range bufs {
		free <- make([]byte, chunk)
	}
	full := make(chan []byte, bufs)
	werr := make(chan error, 1)
	var failed atomic.Bool // stop reading once writing failed (a full disk)
	go func() {
		var err error
		for b := range full {
			if err == nil {
				if _, err = sink.Write(b); err != nil {
					err = &spoolError{err}
					failed.Store(true)
				}
			}
			free <- b[:cap(b)]
		}
		werr <- err
	}()
	var n int64
	var rerr error
	for rerr == nil && !failed.Load() {
		b := <-free
		var k int
		k, rerr = io.ReadFull(body, b)
		if rerr == io.ErrUnexpectedEOF {
			rerr = io.EOF
		}
		if k > 0 {
			n += int64(k)
			full <- b[:k]
		} else {
			free <- b
		}
	}
	close(full)
	if err := <-werr; err != nil {
		return n, err
	}
	if rerr != nil && rerr != io.EOF {
		return n, &bodyError{rerr}
	}
	return n, nil
}

// parseReplace reads Tahoe's replace= argument for a PUT of a file body:
// true (the default) and only-files replace a file but never a
// directory; false replaces nothing.
func parseReplace(v string) (dirnode.Replace, bool) {
	switch strings.ToLower(v) {
	case "", "true", "t", "1", "on", "only-files":
		return dirnode.ReplaceFiles, true
	case "false", "f", "0", "off":
		return dirnode.ReplaceNothing, true
	}
	return 0, false
}

// put uploads the body; under /uri/DIRCAP/path it also links it there,
// making missing directories. An existing directory is never replaced
// (409 Conflict), and with replace=false nothing is (409).
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	c := clientOf(r)
	ctx := r.Context()
	q := r.URL.Query().Get("replace")
	policy, ok := parseReplace(q)
	if !ok {
		http.Error(w, fmt.Sprintf("replace=%q: use true, false or only-files", q), http.StatusBadRequest)
		return
	}
	var dst *client.Dir
	var name string
	if t := target(r); t != "" {
		p, err := c.ParsePath(t)
		if err != nil {
			fail(w, err)
			return
		}
		// Fail before the upload when the link would be refused; the link
		// itself decides again, atomically.
		if dst, name, err = c.LinkTarget(ctx, p, nil, client.LinkOptions{Replace: policy}); err != nil {
			fail(w, err)
			return
		}
	}
	up, err := upload(r, c.Imm, SpoolDir(c.Dir))
	if err != nil {
		fail(w, err)
		return
	}
	code := http.StatusCreated
	if dst != nil {
		replaced, err := dst.D.Link(ctx, name, up.Cap, map[string]any{"size": float64(up.Bytes)}, policy)
		if err != nil {
			fail(w, dst.LinkError(name, err))
			return
		}
		if replaced {
			code = http.StatusOK // Tahoe: 200 when an existing file was replaced
		}
	}
	w.WriteHeader(code)
	io.WriteString(w, up.Cap.String())
}

// upload receives r's body and uploads it.
func upload(r *http.Request, imm *immutable.Client, tmpDir string) (*immutable.UploadResult, error) {
	body, err := receive(r.Body, r.ContentLength, tmpDir, imm.NewKeyHasher)
	if err != nil {
		return nil, err
	}
	defer body.done()
	if body.key != nil {
		return imm.UploadKeyed(r.Context(), body.r, body.size, *body.key)
	}
	return imm.Upload(r.Context(), body.r)
}
