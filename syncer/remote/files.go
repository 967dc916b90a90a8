package remote

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
)

// countingReader reports the bytes read so far.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(n)
		c.progress(c.n)
	}
	return n, err
}

// Upload stores a file's contents as CHK (LIT when tiny), with key as its
// convergent key (the scan computed it; immutable.UploadKeyed), and returns
// the read cap. progress, if not nil, gets the plaintext bytes done so far.
// A source that changes under the upload fails with immutable.ErrSourceChanged.
//
// Progress counts bytes read from r by the encoder, which reads a segment
// ahead of what servers have acknowledged; it reaches size just before the
// upload finishes.
func (f *Folder) Upload(ctx context.Context, r io.Reader, size int64, key [16]byte, progress func(done int64)) (string, error) {
	if progress != nil {
		r = &countingReader{r: r, progress: progress}
	}
	ic := f.g.Immutable()
	res, err := ic.UploadKeyed(ctx, r, size, key)
	if err != nil {
		if h := f.g.Health(); !h.OK() {
			return "", fmt.Errorf("upload: %d of %d storage servers reachable, %d needed: %w", h.Reachable, h.Known, h.Happy, err)
		}
		return "", fmt.Errorf("upload: %w", err)
	}
	return res.Cap.String(), nil
}

// Download writes the verified contents of a file cap to w.
func (f *Folder) Download(ctx context.Context, fileCap string, w io.Writer) error {
	c, err := cap.Parse(fileCap)
	if err != nil || (c.Kind() != cap.KindCHK && c.Kind() != cap.KindLIT) {
		return fmt.Errorf("download: not a file's read cap (URI:CHK or URI:LIT)")
	}
	if _, err := f.g.Immutable().Download(ctx, c, w); err != nil {
		return f.withHealth(fmt.Errorf("download %s: %w", cap.Redacted(c), err))
	}
	return nil
}

// Snapshot makes a frozen immutable copy of the tree (DIR2-CHK, .lafssync
// left out) and returns its read cap.
//
// Every directory becomes an immutable directory (URI:DIR2-CHK, or
// URI:DIR2-LIT when tiny, as Tahoe makes them), files keep their caps and
// metadata; entries that are neither files nor directories (Bad) cannot
// sit in an immutable directory and are left out. A directory reached
// twice (a cycle) is an error.
func (f *Folder) Snapshot(ctx context.Context) (string, error) {
	c, err := f.snapshotDir(ctx, "", f.root.String(), map[string]bool{})
	if err != nil {
		return "", f.withHealth(fmt.Errorf("snapshot: %w", err))
	}
	return c.String(), nil
}

func (f *Folder) snapshotDir(ctx context.Context, dir, dirCap string, onPath map[string]bool) (cap.Cap, error) {
	if onPath[dirCap] {
		return nil, fmt.Errorf("%s contains itself (a directory cycle)", showDir(dir))
	}
	onPath[dirCap] = true
	defer delete(onPath, dirCap)
	d, err := f.open(dirCap)
	if err != nil {
		return nil, err
	}
	names, es, err := list(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", showDir(dir), err)
	}
	sort.Strings(names)
	out := dirnode.Entries{}
	for _, n := range names {
		if dir == "" && n == StateName {
			continue
		}
		de := es[n]
		e := f.toEntry(n, de)
		md := map[string]any{}
		for k, v := range de.Metadata {
			md[k] = v
		}
		switch {
		case e.Dir:
			sub, err := f.snapshotDir(ctx, joinPath(dir, n), e.Cap, onPath)
			if err != nil {
				return nil, err
			}
			out[n] = &dirnode.Entry{ReadCap: sub.String(), Metadata: md}
		case e.Bad == "":
			out[n] = &dirnode.Entry{ReadCap: e.Cap, Metadata: md}
		}
	}
	c, err := dirnode.CreateImmutable(ctx, f.g.Immutable(), out)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", showDir(dir), err)
	}
	return c, nil
}
