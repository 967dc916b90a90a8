// Package db is the folder sync's local state: per folder and per file
// what the file was at the last scan that read it, and the version last
// agreed with the grid, in one crash-safe bbolt file
// (NODEDIR/private/sync.db). Unchanged files are recognised by size,
// mtime and inode and never re-read; a hash index finds the cap of
// content already on the grid, so a rename is relinked, not re-uploaded.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package db

import (
	"errors"

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

// DB is the open database.
type DB struct{}

// Open opens (creating, 0600) the database at path. It waits at most a
// second for the file lock, then fails with ErrLocked.
func Open(path string) (*DB, error) { return nil, errors.New("db.Open: not built yet") }

// Close closes the database.
func (d *DB) Close() error { return nil }

// Folder is one folder's records (a bucket named by the folder's ID).
func (d *DB) Folder(id string) *Folder { return &Folder{} }

// DropFolder deletes a folder's records and meta.
func (d *DB) DropFolder(id string) error { return errors.New("not built") }

// Folder is one folder's part of the database.
type Folder struct{}

// Get reads one record; ok is false if there is none.
func (f *Folder) Get(path string) (r Record, ok bool, err error) { return }

// Update runs fn in one read-write transaction: every Put and Delete in it
// lands together or not at all (a crash mid-way leaves the previous state).
func (f *Folder) Update(fn func(tx *Tx) error) error { return errors.New("not built") }

// View runs fn in a read-only transaction.
func (f *Folder) View(fn func(tx *Tx) error) error { return errors.New("not built") }

// Tx is a transaction on one folder's records.
type Tx struct{}

// Get reads one record.
func (tx *Tx) Get(path string) (r Record, ok bool, err error) { return }

// Put writes one record (and keeps the hash index current).
func (tx *Tx) Put(path string, r Record) error { return errors.New("not built") }

// Delete removes one record.
func (tx *Tx) Delete(path string) error { return errors.New("not built") }

// ForEach visits the records whose path starts with prefix ("" = all)
// in path order; fn may not modify the folder.
func (tx *Tx) ForEach(prefix string, fn func(path string, r Record) error) error {
	return errors.New("not built")
}

// ByHash finds a synced record whose SyncedHash is h (any one; ok false if
// none): content already on the grid under that cap.
func (tx *Tx) ByHash(h [32]byte) (path string, r Record, ok bool, err error) { return }

// Pending visits the records with Pending set, in path order.
func (tx *Tx) Pending(fn func(path string, r Record) error) error { return errors.New("not built") }

// Count is the number of records.
func (tx *Tx) Count() (int, error) { return 0, errors.New("not built") }

// GetMeta and PutMeta keep small per-folder values (the last generation
// seen, the time of the last full walk) beside the records.
func (tx *Tx) GetMeta(key string) ([]byte, error) { return nil, errors.New("not built") }
func (tx *Tx) PutMeta(key string, v []byte) error { return errors.New("not built") }
