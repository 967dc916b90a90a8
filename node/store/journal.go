package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lafssync/lafssync/grid/storage"
)

// Changes to complete shares (mutable writes, lease updates) are made in
// place, as Tahoe does, under an undo journal: before a file is touched,
// the bytes about to be overwritten and its original size are written to
// journal/<n>.undo and fsynced; then the files are changed and fsynced;
// removing the journal is the commit. A journal found at start (a crash
// mid-change) or left by a failed change is played back, restoring every
// file it names. The journal holds only overwritten bytes, so its cost
// is the size of the change, not of the share.
//
// Journal format (ours, not Tahoe's):
//
//	"lafssync undo journal v1\n"
//	u32 number of files, then per file:
//	  u16 path length, path relative to the store directory
//	  u8 flags (1 existed before, 2 deleted: moved to <journal>.<i>.del)
//	  u64 original size, u32 number of saved ranges,
//	  per range: u64 offset, u64 length, the original bytes
//	32 bytes: SHA-256 of everything before (a torn journal is ignored:
//	it was never complete, so no file was touched yet)

const journalMagic = "lafssync undo journal v1\n"

const (
	flagExisted = 1
	flagDeleted = 2
)

// edit is a change to one file of a slot, made under the journal.
type edit struct {
	rel      string // path relative to the store directory
	existed  bool
	origSize int64
	newSize  int64 // a smaller size is applied after the commit
	del      bool  // delete the file (nothing else applies)
	extents  []extent
}

// extent writes b at off, or zeros bytes of zeros when b is nil.
type extent struct {
	off   int64
	b     []byte
	zeros int64
}

func (x extent) len() int64 {
	if x.b != nil {
		return int64(len(x.b))
	}
	return x.zeros
}

// saved is the part of the original file the edit overwrites.
func (e *edit) saved() storage.Ranges {
	var rs storage.Ranges
	if !e.existed || e.del {
		return rs
	}
	for _, x := range e.extents {
		if hi := min(x.off+x.len(), e.origSize); x.off < hi {
			rs.Add(uint64(x.off), uint64(hi))
		}
	}
	return rs
}

// cost is the disk space the edit may take: growth, the overwritten bytes
// (a hole filled in a sparse share takes space) and their copy in the journal.
func (e *edit) cost() uint64 {
	if e.del {
		return 0
	}
	c := uint64(max(0, e.newSize-e.origSize))
	return c + 2*e.saved().Covered()
}

func (s *Store) journalDir() string { return filepath.Join(s.dir, "journal") }

// applyEdits makes the edits all or not at all (also across a crash).
func (s *Store) applyEdits(si storage.SI, edits []*edit) error {
	if len(edits) == 0 {
		return nil
	}
	var need uint64
	for _, e := range edits {
		need += e.cost()
	}
	s.mu.Lock()
	if avail := s.available(); need > avail {
		s.mu.Unlock()
		return fmt.Errorf("slot %s: change needs %d bytes, %d available above the reserved space: %w", si, need, avail, storage.ErrNoSpace)
	}
	s.pendingEdit += need
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pendingEdit -= need
		s.mu.Unlock()
	}()

	jp, err := s.writeJournal(edits)
	if err != nil {
		os.Remove(jp)
		return fmt.Errorf("slot %s: write undo journal: %w", si, diskErr(err))
	}
	if err := s.doEdits(jp, edits); err != nil {
		err = fmt.Errorf("slot %s: %w", si, diskErr(err))
		if rerr := s.rollback(jp); rerr != nil {
			s.mu.Lock()
			s.undo[si] = jp
			s.mu.Unlock()
			s.log.Error("cannot undo a failed change; the slot is refused until it can be", "si", si.String(), "err", rerr)
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := os.Remove(jp); err != nil {
		return fmt.Errorf("slot %s: commit: %w", si, err)
	}
	syncDir(s.journalDir())
	for i, e := range edits {
		p := filepath.Join(s.dir, e.rel)
		switch {
		case e.del:
			os.Remove(trashPath(jp, i))
			os.Remove(filepath.Dir(p)) // only if empty
		case e.newSize < e.origSize:
			// Left longer, the container is still valid (Tahoe never shrinks them).
			if err := os.Truncate(p, e.newSize); err != nil {
				s.log.Warn("cannot shrink a mutable share", "path", e.rel, "err", err)
			}
		}
	}
	return nil
}

func trashPath(jp string, i int) string { return jp + "." + strconv.Itoa(i) + ".del" }

func (s *Store) writeJournal(edits []*edit) (string, error) {
	jp := filepath.Join(s.journalDir(), strconv.FormatUint(s.seq.Add(1), 10)+"-"+strconv.FormatInt(s.opts.Now().UnixNano(), 36)+".undo")
	f, err := os.OpenFile(jp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return jp, err
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	w.WriteString(journalMagic)
	binary.Write(w, binary.BigEndian, uint32(len(edits)))
	for _, e := range edits {
		var flags uint8
		if e.existed {
			flags |= flagExisted
		}
		if e.del {
			flags |= flagDeleted
		}
		binary.Write(w, binary.BigEndian, uint16(len(e.rel)))
		w.WriteString(e.rel)
		w.WriteByte(flags)
		binary.Write(w, binary.BigEndian, uint64(e.origSize))
		rs := e.saved()
		binary.Write(w, binary.BigEndian, uint32(len(rs)))
		if len(rs) == 0 {
			continue
		}
		src, err := os.Open(filepath.Join(s.dir, e.rel))
		if err != nil {
			return jp, err
		}
		for _, r := range rs {
			binary.Write(w, binary.BigEndian, r.Start)
			binary.Write(w, binary.BigEndian, r.End-r.Start)
			if _, err := io.Copy(w, io.NewSectionReader(src, int64(r.Start), int64(r.End-r.Start))); err != nil {
				src.Close()
				return jp, err
			}
		}
		src.Close()
	}
	if err := w.Flush(); err != nil {
		return jp, err
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		return jp, err
	}
	if err := f.Sync(); err != nil {
		return jp, err
	}
	syncDir(s.journalDir())
	return jp, nil
}

var zeroChunk = make([]byte, 64<<10)

func (s *Store) doEdits(jp string, edits []*edit) error {
	for i, e := range edits {
		p := filepath.Join(s.dir, e.rel)
		if e.del {
			if err := os.Rename(p, trashPath(jp, i)); err != nil {
				return err
			}
			continue
		}
		flag := os.O_RDWR
		if !e.existed {
			if _, err := mkdirLeaf(filepath.Dir(p)); err != nil {
				return err
			}
			flag |= os.O_CREATE | os.O_EXCL
		}
		f, err := openFile(p, flag, 0o600)
		if err != nil {
			return err
		}
		err = writeExtents(f, e)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if !e.existed {
			syncDir(filepath.Dir(p))
		}
	}
	return nil
}

func writeExtents(f *os.File, e *edit) error {
	if e.newSize > e.origSize {
		// Sparse: the zeros cost nothing until written, and every write
		// is checked against free space (edit.cost).
		if err := f.Truncate(e.newSize); err != nil {
			return err
		}
	}
	for _, x := range e.extents {
		if x.b != nil {
			if _, err := f.WriteAt(x.b, x.off); err != nil {
				return err
			}
			continue
		}
		for off, end := x.off, x.off+x.zeros; off < end; {
			n := min(int64(len(zeroChunk)), end-off)
			if _, err := f.WriteAt(zeroChunk[:n], off); err != nil {
				return err
			}
			off += n
		}
	}
	return nil
}

// rollback plays back a journal, restoring the files it names, and
// removes it. A torn journal is removed: no file was touched before it
// was complete.
func (s *Store) rollback(jp string) error {
	f, err := os.Open(jp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	body := st.Size() - sha256.Size
	if body < int64(len(journalMagic)) {
		f.Close()
		return removeJournal(jp)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, body)); err != nil {
		return err
	}
	sum := make([]byte, sha256.Size)
	if _, err := f.ReadAt(sum, body); err != nil {
		return err
	}
	if !bytes.Equal(sum, h.Sum(nil)) {
		f.Close()
		return removeJournal(jp)
	}
	r := bufio.NewReader(io.NewSectionReader(f, 0, body))
	if err := s.playBack(jp, r); err != nil {
		return fmt.Errorf("undo journal %s: %w", filepath.Base(jp), err)
	}
	f.Close()
	return removeJournal(jp)
}

func removeJournal(jp string) error {
	if err := os.Remove(jp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	syncDir(filepath.Dir(jp))
	return nil
}

func (s *Store) playBack(jp string, r *bufio.Reader) error {
	magic := make([]byte, len(journalMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != journalMagic {
		return fmt.Errorf("not an undo journal")
	}
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return err
	}
	for i := 0; i < int(n); i++ {
		var plen uint16
		if err := binary.Read(r, binary.BigEndian, &plen); err != nil {
			return err
		}
		rel := make([]byte, plen)
		if _, err := io.ReadFull(r, rel); err != nil {
			return err
		}
		if !filepath.IsLocal(string(rel)) || !strings.HasPrefix(string(rel), "shares"+string(filepath.Separator)) {
			return fmt.Errorf("path %q outside the share tree", rel)
		}
		p := filepath.Join(s.dir, string(rel))
		var hdr struct {
			Flags  uint8
			Size   uint64
			Ranges uint32
		}
		if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
			return err
		}
		if hdr.Flags&flagDeleted != 0 {
			if err := os.Rename(trashPath(jp, i), p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if hdr.Flags&flagExisted == 0 {
			// Created by the change: remove it, unless it is not ours (an
			// immutable share finished meanwhile at the same path).
			if head, _, err := readHead(p); err == nil && (len(head) < 32 || isMutable(head)) {
				if err := os.Remove(p); err != nil {
					return err
				}
				os.Remove(filepath.Dir(p))
			}
			continue
		}
		if err := restore(p, r, int64(hdr.Size), hdr.Ranges); err != nil {
			return err
		}
	}
	return nil
}

func restore(p string, r *bufio.Reader, size int64, ranges uint32) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for j := uint32(0); j < ranges; j++ {
		var rg struct{ Off, Len uint64 }
		if err := binary.Read(r, binary.BigEndian, &rg); err != nil {
			return err
		}
		if rg.Off+rg.Len > uint64(size) || rg.Off+rg.Len < rg.Off {
			return fmt.Errorf("saved range %d+%d past the original size %d", rg.Off, rg.Len, size)
		}
		if _, err := io.CopyN(io.NewOffsetWriter(f, int64(rg.Off)), r, int64(rg.Len)); err != nil {
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// recover plays back journals left by a crash and removes the shares of
// committed deletions (called by Open before anything else runs).
func (s *Store) recoverJournals() error {
	ents, err := os.ReadDir(s.journalDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".undo") {
			if err := s.rollback(filepath.Join(s.journalDir(), e.Name())); err != nil {
				return err
			}
			s.log.Warn("undid a change interrupted by a crash", "journal", e.Name())
		}
	}
	ents, _ = os.ReadDir(s.journalDir())
	for _, e := range ents {
		os.Remove(filepath.Join(s.journalDir(), e.Name()))
	}
	return nil
}
