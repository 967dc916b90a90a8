package mutable

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Options are the parameters of a client of mutable files. The zero value
// works: SDMF, 3-of-10, a fresh key, no lease secret.
type Options struct {
	// Format of new files (cap.SDMF or cap.MDMF).
	Format cap.Format
	// K and N are the encoding of new files (default 3 and 10).
	K, N int
	// Key, if set, is the RSA key of a new file (otherwise one is generated,
	// which takes 100 ms or more).
	Key *rsa.PrivateKey
	// Pool, if set and Key is not, supplies the key of a new file.
	Pool *KeyPool
	// LeaseSecret is the client's lease secret (Tahoe's "secret" file);
	// lease renew/cancel secrets per server derive from it.
	LeaseSecret []byte
	// Logger receives debug logs; nil means slog.Default().
	Logger *slog.Logger
	// Timeout bounds each server call (default 30 s).
	Timeout time.Duration
	// MaxWriteSize bounds the share bytes one read-test-write call
	// carries (default DefaultMaxWriteSize); larger writes are split
	// into several calls (see writeServer).
	MaxWriteSize int
}

func (o *Options) defaults() {
	if o.K == 0 {
		o.K = 3
	}
	if o.N == 0 {
		o.N = 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
}

// Version names one published version of a file: its sequence number and
// share-hash-tree root. The zero Version means "no version".
type Version struct {
	Seqnum   uint64
	RootHash [32]byte
}

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v == Version{} }

func (v Version) String() string {
	return fmt.Sprintf("seq%d-%x", v.Seqnum, v.RootHash[:4])
}

// ErrUncoordinated is wrapped by *ConflictError: another writer published
// a version the caller did not base its write on.
var ErrUncoordinated = errors.New("uncoordinated write: the file changed since it was read")

// ErrReadOnly means a write was attempted through a read cap.
var ErrReadOnly = errors.New("mutable file opened read-only")

// ErrNotFound means no share of the file was found on any server.
var ErrNotFound = errors.New("mutable file not found on any server")

// ConflictError reports an uncoordinated write: Base is the version the
// write was based on, Current the newest version seen on the grid (zero if
// unknown). The caller's data was not published; re-read, merge, retry.
type ConflictError struct {
	Base, Current Version
	Detail        string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: based on %v, grid has %v (%s)", ErrUncoordinated, e.Base, e.Current, e.Detail)
}

// Unwrap makes errors.Is(err, ErrUncoordinated) true.
func (e *ConflictError) Unwrap() error { return ErrUncoordinated }

// File is a handle on one mutable file. It is safe for concurrent use, but
// writes through one handle are serialised.
type File struct {
	opts    Options
	servers []storage.Server
	format  cap.Format
	rw      bool
	wcap    cap.Mutable
	readKey [16]byte
	fp      [32]byte
	si      storage.SI

	mu   sync.Mutex // serialises writes; guards keys
	keys *Keys      // nil until the private key is known

	race racePolicy // how long a read keeps trying while writers replace shares
}

// Create publishes a new file with the given contents (seqnum 1) and
// returns its handle; f.WriteCap() is its cap.
func Create(ctx context.Context, servers []storage.Server, contents []byte, opts Options) (*File, error) {
	opts.defaults()
	if opts.Format != cap.SDMF && opts.Format != cap.MDMF {
		return nil, fmt.Errorf("create mutable file: unknown format %v", opts.Format)
	}
	if opts.K < 1 || opts.N < opts.K || opts.N > 255 {
		return nil, fmt.Errorf("create mutable file: bad encoding %d-of-%d", opts.K, opts.N)
	}
	var keys *Keys
	var err error
	switch {
	case opts.Key != nil:
		keys, err = NewKeys(opts.Key)
	case opts.Pool != nil:
		var k *rsa.PrivateKey
		if k, err = opts.Pool.Get(ctx); err == nil {
			keys, err = NewKeys(k)
		}
	default:
		keys, err = GenerateKeys()
	}
	if err != nil {
		return nil, fmt.Errorf("create mutable file: %w", err)
	}
	f := newFile(*keys.WriteCap(opts.Format), servers, opts)
	f.keys = keys
	m, err := f.mapServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("create mutable file %s: %w", f.si, err)
	}
	if len(m.shares) > 0 {
		return nil, fmt.Errorf("create mutable file %s: shares already exist", f.si)
	}
	if _, err := f.publish(ctx, m, contents, 1, opts.K, opts.N); err != nil {
		return nil, fmt.Errorf("create mutable file %s: %w", f.si, err)
	}
	return f, nil
}

func newFile(w cap.Mutable, servers []storage.Server, opts Options) *File {
	f := &File{opts: opts, servers: servers, format: w.Format, rw: true, wcap: w, fp: w.Fingerprint, race: defaultRace}
	f.readKey = taghash.SSKReadKey(w.WriteKey[:])
	f.si = storage.SI(taghash.SSKStorageIndex(f.readKey[:]))
	return f
}

// Open returns a handle for a write cap or read cap string (SSK or MDMF).
// Nothing is fetched until the first read or write.
func Open(capString string, servers []storage.Server, opts Options) (*File, error) {
	opts.defaults()
	c, err := cap.Parse(capString)
	if err != nil {
		return nil, fmt.Errorf("open mutable file: %w", err)
	}
	switch c := c.(type) {
	case *cap.Mutable:
		return newFile(*c, servers, opts), nil
	case *cap.MutableRO:
		f := &File{opts: opts, servers: servers, format: c.Format, readKey: c.ReadKey, fp: c.Fingerprint, race: defaultRace}
		f.si = storage.SI(taghash.SSKStorageIndex(f.readKey[:]))
		return f, nil
	}
	return nil, fmt.Errorf("open mutable file: %s is not an SSK/MDMF write or read cap", cap.Redacted(c))
}

// WriteCap is the file's write cap, or "" for a read-only handle.
func (f *File) WriteCap() string {
	if !f.rw {
		return ""
	}
	return f.wcap.String()
}

// ReadCap is the file's read cap.
func (f *File) ReadCap() string {
	return (&cap.MutableRO{Format: f.format, ReadKey: f.readKey, Fingerprint: f.fp}).String()
}

// StorageIndex is the file's storage index.
func (f *File) StorageIndex() storage.SI { return f.si }

// String redacts the caps.
func (f *File) String() string { return "mutable file " + f.si.String() }

// LogValue redacts the caps.
func (f *File) LogValue() slog.Value { return slog.StringValue(f.String()) }

func (f *File) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.opts.Timeout)
}

func (f *File) writeEnabler(srv storage.Server) storage.Secret {
	master := taghash.WriteEnablerMaster(f.wcap.WriteKey[:])
	seed := srv.Info().LeaseSeed
	return storage.Secret(taghash.WriteEnabler(master[:], seed[:]))
}

func (f *File) leaseSecrets(srv storage.Server) storage.LeaseSecrets {
	seed := srv.Info().LeaseSeed
	cr, cc := taghash.ClientRenewalSecret(f.opts.LeaseSecret), taghash.ClientCancelSecret(f.opts.LeaseSecret)
	fr, fc := taghash.FileRenewalSecret(cr[:], f.si[:]), taghash.FileCancelSecret(cc[:], f.si[:])
	return storage.LeaseSecrets{
		Renew:  storage.Secret(taghash.BucketRenewalSecret(fr[:], seed[:])),
		Cancel: storage.Secret(taghash.BucketCancelSecret(fc[:], seed[:])),
	}
}

// ctr is AES-128-CTR with a zero initial counter block.
func ctr(key [16]byte, dst, src []byte) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // 16-byte key: cannot fail
	}
	var iv [aes.BlockSize]byte
	cipher.NewCTR(b, iv[:]).XORKeyStream(dst, src)
}

func toHashes(b []byte) []hashtree.Hash {
	out := make([]hashtree.Hash, len(b)/hashLen)
	for i := range out {
		copy(out[i][:], b[i*hashLen:])
	}
	return out
}
