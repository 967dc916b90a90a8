// Package db is the folder sync's local state: per folder and per file
// what the file was at the last scan that read it, and the version last
// agreed with the grid, in one crash-safe bbolt file
// (NODEDIR/private/sync.db). Unchanged files are recognised by size,
// mtime and inode and never re-read; a hash index finds the cap of
// content already on the grid, so a rename is relinked, not re-uploaded.
//
// Layout: a top-level bucket "folders" holds one bucket per folder ID
// (any non-empty string the caller chooses), each with four sub-buckets:
//
//	records  path → encoded Record (record.go: a version byte, then varints)
//	hash     SyncedHash ‖ path → ""   (synced records only, Gone included:
//	         the content is still on the grid under the record's Cap)
//	pending  path → ""                (records with Pending set)
//	meta     key → value              (GetMeta/PutMeta)
//
// Put and Delete keep both indexes current in the same transaction.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package db

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"

	"github.com/lafssync/lafssync/syncer/vv"
)

// Record is one path of a folder (a file; directories have no record).
type Record struct {
	// What the file was when a scan last read it.
	Size    int64
	MtimeNs int64
	Inode   uint64
	Mode    uint32   // permission bits as the scan saw them
	Hash    [32]byte // SHA-256 of the content
	Key     [16]byte // the CHK convergent key of the content

	// The version last agreed with the grid: the local file was, at that
	// point, exactly the grid entry with this cap and vector. Synced is
	// false for a file the grid has never had (then the rest is zero).
	Synced     bool
	Cap        string
	Ver        vv.Vector
	SyncedHash [32]byte

	// Pending: a local change (content, or Gone) not yet committed.
	Pending bool
	// Gone: the file is absent locally (a local delete to commit, or a
	// remote delete applied); the record keeps what was synced.
	Gone bool
}

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("the sync database is in use by another process")

// lockTimeout is how long Open waits for another holder to let go.
const lockTimeout = time.Second

var (
	bucketFolders = []byte("folders")
	bucketRecords = []byte("records")
	bucketHash    = []byte("hash")
	bucketPending = []byte("pending")
	bucketMeta    = []byte("meta")
)

// DB is the open database.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens (creating, 0600) the database at path. It waits at most a
// second for the file lock, then fails with ErrLocked.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterr.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (stop the other node using this directory, or wait for it to exit)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open sync database %s: %w", path, err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketFolders)
		return err
	}); err != nil {
		b.Close()
		return nil, fmt.Errorf("open sync database %s: %w", path, err)
	}
	return &DB{bolt: b, path: path}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.bolt.Close() }

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Folder is one folder's records (a bucket named by the folder's ID).
func (d *DB) Folder(id string) *Folder { return &Folder{db: d, id: []byte(id)} }

// Folders lists the IDs of the folders that have a bucket, in order.
func (d *DB) Folders() ([]string, error) {
	var ids []string
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).ForEachBucket(func(k []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

// DropFolder deletes a folder's records and meta.
func (d *DB) DropFolder(id string) error {
	return d.bolt.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketFolders).DeleteBucket([]byte(id))
		if errors.Is(err, bolterr.ErrBucketNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("drop folder %q from the sync database: %w", id, err)
		}
		return nil
	})
}

// Folder is one folder's part of the database.
type Folder struct {
	db *DB
	id []byte
}

// ID is the folder's ID.
func (f *Folder) ID() string { return string(f.id) }

// Get reads one record; ok is false if there is none.
func (f *Folder) Get(path string) (r Record, ok bool, err error) {
	err = f.View(func(tx *Tx) error {
		r, ok, err = tx.Get(path)
		return err
	})
	return r, ok, err
}

// Update runs fn in one read-write transaction: every Put and Delete in it
// lands together or not at all (a crash mid-way leaves the previous state).
func (f *Folder) Update(fn func(tx *Tx) error) error {
	if len(f.id) == 0 {
		return errors.New("sync database: empty folder ID")
	}
	return f.db.bolt.Update(func(btx *bolt.Tx) error {
		fb, err := btx.Bucket(bucketFolders).CreateBucketIfNotExists(f.id)
		if err != nil {
			return fmt.Errorf("folder %q: %w", f.id, err)
		}
		tx := &Tx{writable: true}
		for _, s := range []struct {
			name []byte
			b    **bolt.Bucket
		}{{bucketRecords, &tx.records}, {bucketHash, &tx.hash}, {bucketPending, &tx.pending}, {bucketMeta, &tx.meta}} {
			if *s.b, err = fb.CreateBucketIfNotExists(s.name); err != nil {
				return fmt.Errorf("folder %q: %w", f.id, err)
			}
		}
		return fn(tx)
	})
}

// View runs fn in a read-only transaction.
func (f *Folder) View(fn func(tx *Tx) error) error {
	return f.db.bolt.View(func(btx *bolt.Tx) error {
		tx := &Tx{}
		if fb := btx.Bucket(bucketFolders).Bucket(f.id); fb != nil {
			tx.records = fb.Bucket(bucketRecords)
			tx.hash = fb.Bucket(bucketHash)
			tx.pending = fb.Bucket(bucketPending)
			tx.meta = fb.Bucket(bucketMeta)
		}
		return fn(tx)
	})
}

// Tx is a transaction on one folder's records. It is valid only inside
// the function given to Update or View. In a View of a folder that has
// never been written, every bucket is nil and the folder reads as empty.
type Tx struct {
	writable                     bool
	records, hash, pending, meta *bolt.Bucket
}

var errReadOnly = errors.New("sync database: write in a read-only transaction")

// Get reads one record.
func (tx *Tx) Get(path string) (r Record, ok bool, err error) {
	if tx.records == nil {
		return r, false, nil
	}
	v := tx.records.Get([]byte(path))
	if v == nil {
		return r, false, nil
	}
	if err := r.UnmarshalBinary(v); err != nil {
		return Record{}, false, fmt.Errorf("record of %q: %w", path, err)
	}
	return r, true, nil
}

// Put writes one record (and keeps the hash index current).
func (tx *Tx) Put(path string, r Record) error {
	if !tx.writable {
		return errReadOnly
	}
	if path == "" {
		return errors.New("sync database: record with an empty path")
	}
	if err := tx.unindex(path); err != nil {
		return err
	}
	v, err := r.MarshalBinary()
	if err != nil {
		return fmt.Errorf("record of %q: %w", path, err)
	}
	k := []byte(path)
	if err := tx.records.Put(k, v); err != nil {
		return fmt.Errorf("put record of %q: %w", path, err)
	}
	if r.Synced {
		if err := tx.hash.Put(hashKey(r.SyncedHash, path), nil); err != nil {
			return fmt.Errorf("index record of %q: %w", path, err)
		}
	}
	if r.Pending {
		if err := tx.pending.Put(k, nil); err != nil {
			return fmt.Errorf("index record of %q: %w", path, err)
		}
	}
	return nil
}

// Delete removes one record.
func (tx *Tx) Delete(path string) error {
	if !tx.writable {
		return errReadOnly
	}
	if err := tx.unindex(path); err != nil {
		return err
	}
	if err := tx.records.Delete([]byte(path)); err != nil {
		return fmt.Errorf("delete record of %q: %w", path, err)
	}
	return nil
}

// unindex removes path's current record (if any) from the indexes. A
// record that cannot be decoded cannot say which hash it was indexed
// under; then the hash index is swept for path (rare, and only on a
// corrupt database).
func (tx *Tx) unindex(path string) error {
	k := []byte(path)
	if err := tx.pending.Delete(k); err != nil {
		return fmt.Errorf("unindex record of %q: %w", path, err)
	}
	v := tx.records.Get(k)
	if v == nil {
		return nil
	}
	var old Record
	if err := old.UnmarshalBinary(v); err != nil {
		var stale [][]byte
		c := tx.hash.Cursor()
		for hk, _ := c.First(); hk != nil; hk, _ = c.Next() {
			if len(hk) >= 32 && string(hk[32:]) == path {
				stale = append(stale, bytes.Clone(hk))
			}
		}
		for _, hk := range stale {
			if err := tx.hash.Delete(hk); err != nil {
				return fmt.Errorf("unindex record of %q: %w", path, err)
			}
		}
		return nil
	}
	if old.Synced {
		if err := tx.hash.Delete(hashKey(old.SyncedHash, path)); err != nil {
			return fmt.Errorf("unindex record of %q: %w", path, err)
		}
	}
	return nil
}

func hashKey(h [32]byte, path string) []byte {
	k := make([]byte, 0, 32+len(path))
	k = append(k, h[:]...)
	return append(k, path...)
}

// ForEach visits the records whose path starts with prefix ("" = all)
// in path order; fn may not modify the folder. The prefix is a plain
// string prefix: to visit a directory's subtree pass "dir/" (with the
// slash), which does not match "dir2/x".
func (tx *Tx) ForEach(prefix string, fn func(path string, r Record) error) error {
	if tx.records == nil {
		return nil
	}
	p := []byte(prefix)
	c := tx.records.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var r Record
		if err := r.UnmarshalBinary(v); err != nil {
			return fmt.Errorf("record of %q: %w", k, err)
		}
		if err := fn(string(k), r); err != nil {
			return err
		}
	}
	return nil
}

// ByHash finds a synced record whose SyncedHash is h (any one; ok false if
// none): content already on the grid under that cap. Records that are
// Gone are found too: their content is still on the grid.
func (tx *Tx) ByHash(h [32]byte) (path string, r Record, ok bool, err error) {
	if tx.hash == nil {
		return "", r, false, nil
	}
	c := tx.hash.Cursor()
	for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Next() {
		p := string(k[32:])
		r, ok, err := tx.Get(p)
		if err != nil {
			return "", Record{}, false, err
		}
		// The index follows Put and Delete, so this holds; checking
		// costs nothing and keeps a stale entry from naming a wrong cap.
		if ok && r.Synced && r.SyncedHash == h {
			return p, r, true, nil
		}
	}
	return "", Record{}, false, nil
}

// Pending visits the records with Pending set, in path order.
func (tx *Tx) Pending(fn func(path string, r Record) error) error {
	if tx.pending == nil {
		return nil
	}
	c := tx.pending.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		p := string(k)
		r, ok, err := tx.Get(p)
		if err != nil {
			return err
		}
		if !ok || !r.Pending {
			continue
		}
		if err := fn(p, r); err != nil {
			return err
		}
	}
	return nil
}

// Count is the number of records.
func (tx *Tx) Count() (int, error) {
	if tx.records == nil {
		return 0, nil
	}
	return tx.records.Stats().KeyN, nil
}

// GetMeta and PutMeta keep small per-folder values (the last generation
// seen, the time of the last full walk) beside the records. GetMeta
// returns nil for a key never put; the slice is a copy.
func (tx *Tx) GetMeta(key string) ([]byte, error) {
	if tx.meta == nil {
		return nil, nil
	}
	return bytes.Clone(tx.meta.Get([]byte(key))), nil
}

// PutMeta sets key to v (nil v deletes it).
func (tx *Tx) PutMeta(key string, v []byte) error {
	if !tx.writable {
		return errReadOnly
	}
	if key == "" {
		return errors.New("sync database: meta with an empty key")
	}
	if v == nil {
		return tx.meta.Delete([]byte(key))
	}
	return tx.meta.Put([]byte(key), v)
}

// ForEachMeta calls fn for every meta key that starts with prefix, in key
// order, with a copy of its value. fn must not put or delete meta keys;
// collect them and change them after.
func (tx *Tx) ForEachMeta(prefix string, fn func(key string, v []byte) error) error {
	if tx.meta == nil {
		return nil
	}
	c := tx.meta.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
		if err := fn(string(k), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return nil
}
