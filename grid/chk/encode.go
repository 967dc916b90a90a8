package chk

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/fec"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/taghash"
	"github.com/lafssync/lafssync/internal/bufpool"
)

// Hash is a 32-byte tagged hash.
type Hash = hashtree.Hash

// Ref is what a CHK cap says about a file: enough to find, verify and
// decrypt it. It is a secret (it holds the read key).
type Ref struct {
	Key     [16]byte
	UEBHash [32]byte
	K, N    int
	Size    int64
}

// StorageIndex is where the file's shares live.
func (r Ref) StorageIndex() [16]byte { return taghash.StorageIndex(r.Key) }

// Cap formats the ref as a URI:CHK cap string.
func (r Ref) Cap() string {
	return fmt.Sprintf("URI:CHK:%s:%s:%d:%d:%d", base32.Encode(r.Key[:]), base32.Encode(r.UEBHash[:]), r.K, r.N, r.Size)
}

// String redacts the key so a Ref can be logged.
func (r Ref) String() string {
	si := r.StorageIndex()
	return fmt.Sprintf("CHK(si=%s %d-of-%d %d bytes)", base32.Encode(si[:]), r.K, r.N, r.Size)
}

// NewCTR returns AES-128-CTR keyed with key, positioned at byte offset off
// of the keystream (counter block off/16, off%16 bytes skipped).
func NewCTR(key [16]byte, off int64) cipher.Stream {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: 16-byte key
	}
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(off/16))
	s := cipher.NewCTR(block, iv[:])
	if skip := off % 16; skip > 0 {
		var junk [16]byte
		s.XORKeyStream(junk[:skip], junk[:skip])
	}
	return s
}

// ConvergentKey reads the whole plaintext and returns the convergent
// encryption key for the layout's encoding parameters.
func ConvergentKey(r io.Reader, secret []byte, l Layout) ([16]byte, error) {
	h, err := taghash.NewConvergence(l.K, l.N, int(l.SegmentSize), secret)
	if err != nil {
		return [16]byte{}, err
	}
	n, err := io.Copy(h, r)
	if err != nil {
		return [16]byte{}, fmt.Errorf("hash plaintext: %w", err)
	}
	if n != l.Size {
		return [16]byte{}, fmt.Errorf("hash plaintext: read %d bytes, expected %d (file changed while reading?)", n, l.Size)
	}
	return h.Key(), nil
}

// Encoder turns plaintext segments into erasure-coded, hashed blocks. It
// keeps up to pipelineDepth segments' buffers (never more than the file
// has segments, recycled across encoders) and the per-share hashes (32
// bytes per share per segment), so memory does not grow with the file.
//
// Hashing is most of the work (SHA-256d over the ciphertext twice and over
// n/k times its size in blocks), so it runs on worker goroutines. Within
// one segment the work overlaps too, which is what a one-segment (≤ 1 MiB)
// file has to go on: the two ciphertext hashes start as soon as the
// segment is encrypted, and the k data blocks (the ciphertext itself, cut
// in k) are hashed while the n-k parity blocks are computed (which the
// FEC library splits across goroutines); across segments, hashing one
// overlaps encrypting and coding the next. Call Finish or Close to stop
// the goroutines.
type Encoder struct {
	l      Layout
	key    [16]byte
	code   *fec.Code
	ctr    cipher.Stream
	seg    int
	crypt  []Hash    // crypttext segment hashes, by segment
	blocks [][]Hash  // block hashes [share][segment]
	sets   []*bufSet // up to pipelineDepth, never more than the file has segments

	jobs    chan hashJob
	whole   chan hashJob // ciphertext segments, in order, for the whole-file hash
	wholeCh chan Hash    // the whole-file hash, once whole is closed
	workers sync.WaitGroup
	closed  bool
}

// bufSet is one segment's buffers: the ciphertext, whose first k×block
// bytes are also the k data blocks, and the n-k parity blocks; busy counts
// hash jobs still reading it.
type bufSet struct {
	cipher []byte   // SegmentSize bytes
	parity [][]byte // n-k blocks of BlockSize bytes
	busy   sync.WaitGroup
}

type hashJob struct {
	data  []byte
	dst   *Hash
	block bool // block hash, else crypttext segment hash
	set   *bufSet
}

// pipelineDepth is how many segments can be in flight at once (being
// encrypted and coded while earlier ones are still hashed).
const pipelineDepth = 4

// NewEncoder prepares to encode a file with the given key and layout.
func NewEncoder(key [16]byte, l Layout) (*Encoder, error) {
	code, err := fec.New(l.K, l.N)
	if err != nil {
		return nil, err
	}
	e := &Encoder{l: l, key: key, code: code, ctr: NewCTR(key, 0),
		crypt: make([]Hash, l.NumSegments), blocks: make([][]Hash, l.N),
		jobs: make(chan hashJob, 2*l.N+2), whole: make(chan hashJob, 2), wholeCh: make(chan Hash, 1)}
	for i := range e.blocks {
		e.blocks[i] = make([]Hash, l.NumSegments)
	}
	e.sets = make([]*bufSet, max(1, min(pipelineDepth, l.NumSegments)))
	for i := range e.sets {
		s := &bufSet{cipher: bufpool.Get(int(l.SegmentSize)), parity: make([][]byte, l.N-l.K)}
		for j := range s.parity {
			s.parity[j] = bufpool.Get(int(l.BlockSize))
		}
		e.sets[i] = s
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	for range workers {
		e.workers.Go(func() {
			for j := range e.jobs {
				if j.block {
					*j.dst = taghash.BlockHash(j.data)
				} else {
					*j.dst = taghash.CrypttextSegmentHash(j.data)
				}
				j.set.busy.Done()
			}
		})
	}
	e.workers.Go(func() {
		h := taghash.New(taghash.TagCrypttext)
		for j := range e.whole {
			h.Write(j.data)
			j.set.busy.Done()
		}
		e.wholeCh <- h.Sum()
	})
	return e, nil
}

// Layout is the layout being encoded.
func (e *Encoder) Layout() Layout { return e.l }

// Segment is the index of the next segment EncodeSegment expects.
func (e *Encoder) Segment() int { return e.seg }

// EncodeSegment encrypts and erasure-codes the next plaintext segment,
// which must be exactly Layout.SegmentLen(Segment()) bytes. It returns the
// n blocks, block i for share i; they stay valid until the call after next,
// and not after Finish or Close (the buffers are recycled).
func (e *Encoder) EncodeSegment(plain []byte) ([][]byte, error) {
	if e.closed {
		return nil, errors.New("chk: encoder is closed")
	}
	if e.seg >= e.l.NumSegments {
		return nil, errors.New("chk: all segments already encoded")
	}
	if want := e.l.SegmentLen(e.seg); int64(len(plain)) != want {
		return nil, fmt.Errorf("chk: segment %d is %d bytes, want %d", e.seg, len(plain), want)
	}
	set := e.sets[e.seg%len(e.sets)]
	set.busy.Wait() // hashing of the segment that last used these buffers
	k, bl := e.l.K, e.l.BlockLen(e.seg)
	// The data blocks are the ciphertext cut in k, the last one padded
	// with zeros (k×bl ≤ SegmentSize): no copy. The padding is cleared
	// before any job reads the blocks; the ciphertext jobs read only ct.
	padded := set.cipher[:int64(k)*bl]
	ct := padded[:len(plain)]
	e.ctr.XORKeyStream(ct, plain)
	clear(padded[len(ct):])
	set.busy.Add(2 + k)
	e.whole <- hashJob{data: ct, set: set}
	e.jobs <- hashJob{data: ct, dst: &e.crypt[e.seg], set: set}
	out := make([][]byte, e.l.N)
	for i := 0; i < k; i++ {
		out[i] = padded[int64(i)*bl : int64(i+1)*bl]
		e.jobs <- hashJob{data: out[i], dst: &e.blocks[i][e.seg], block: true, set: set}
	}
	for i := k; i < e.l.N; i++ {
		out[i] = set.parity[i-k][:bl]
	}
	// Parity is computed while the data blocks and the ciphertext are
	// hashed: all of those only read the data blocks.
	if err := e.code.Encode(out); err != nil {
		return nil, fmt.Errorf("chk: erasure-code segment %d: %w", e.seg, err)
	}
	set.busy.Add(e.l.N - k)
	for i := k; i < e.l.N; i++ {
		e.jobs <- hashJob{data: out[i], dst: &e.blocks[i][e.seg], block: true, set: set}
	}
	e.seg++
	return out, nil
}

// Close stops the hashing goroutines. Finish calls it; call it yourself
// when abandoning an encode. It is idempotent.
func (e *Encoder) Close() {
	if e.closed {
		return
	}
	e.closed = true
	close(e.jobs)
	close(e.whole)
	e.workers.Wait()
	for _, set := range e.sets {
		bufpool.Put(set.cipher)
		for _, p := range set.parity {
			bufpool.Put(p)
		}
	}
	e.sets = nil
}

// Segment buffers are recycled across encoders (internal/bufpool): a
// 1 MiB file otherwise allocates (and the kernel zeroes) 4.5 MB of
// buffers for one segment.
// Result is an encoded file: its cap and, per share, the bytes that frame
// the blocks (header before, hash trees and UEB after).
type Result struct {
	Ref    Ref
	Layout Layout
	UEB    []byte
	// trailers[i] is share i's bytes from Layout.OffPlaintext to the end.
	trailers [][]byte
}

// Header is the first bytes of every share.
func (r *Result) Header() []byte { return r.Layout.Header() }

// Trailer is share shnum's bytes from Layout.OffPlaintext to its end.
func (r *Result) Trailer(shnum int) []byte { return r.trailers[shnum] }

// ShareLen is the size of every share.
func (r *Result) ShareLen() int64 { return r.Layout.ShareLen(len(r.UEB)) }

// Finish builds the hash trees and the UEB once every segment is encoded.
func (e *Encoder) Finish() (*Result, error) {
	l := e.l
	if e.closed {
		return nil, errors.New("chk: encoder is closed")
	}
	if e.seg != l.NumSegments {
		e.Close()
		return nil, fmt.Errorf("chk: finish after %d of %d segments", e.seg, l.NumSegments)
	}
	e.Close()
	wholeHash := <-e.wholeCh
	cryptTree := hashtree.New(e.crypt)
	blockTrees := make([]hashtree.Tree, l.N)
	roots := make([]Hash, l.N)
	for i := range blockTrees {
		blockTrees[i] = hashtree.New(e.blocks[i])
		roots[i] = blockTrees[i].Root()
	}
	shareTree := hashtree.New(roots)
	u := &UEB{
		CodecName:         "crs",
		CodecParams:       fmt.Sprintf("%d-%d-%d", l.SegmentSize, l.K, l.N),
		TailCodecParams:   fmt.Sprintf("%d-%d-%d", l.PaddedTail, l.K, l.N),
		CrypttextHash:     wholeHash,
		CrypttextRootHash: cryptTree.Root(),
		ShareRootHash:     shareTree.Root(),
		NeededShares:      l.K,
		TotalShares:       l.N,
		NumSegments:       l.NumSegments,
		SegmentSize:       l.SegmentSize,
		Size:              l.Size,
	}
	packed := u.Pack()
	res := &Result{
		Ref:      Ref{Key: e.key, UEBHash: taghash.UEBHash(packed), K: l.K, N: l.N, Size: l.Size},
		Layout:   l,
		UEB:      packed,
		trailers: make([][]byte, l.N),
	}
	for i := range res.trailers {
		t := make([]byte, 0, l.ShareLen(len(packed))-l.OffPlaintext)
		t = append(t, make([]byte, l.SegHashSize)...) // plaintext tree: unused, zeros
		for _, h := range cryptTree {
			t = append(t, h[:]...)
		}
		for _, h := range blockTrees[i] {
			t = append(t, h[:]...)
		}
		for _, idx := range hashtree.Needed(len(shareTree), i, true) {
			t = binary.BigEndian.AppendUint16(t, uint16(idx))
			t = append(t, shareTree[idx][:]...)
		}
		if l.Version == 1 {
			t = binary.BigEndian.AppendUint32(t, uint32(len(packed)))
		} else {
			t = binary.BigEndian.AppendUint64(t, uint64(len(packed)))
		}
		res.trailers[i] = append(t, packed...)
	}
	return res, nil
}

// ShareWriter receives share bytes at offsets (blocks as they are made,
// then header and trailer). WriteAt must not keep p after it returns: the
// encoder reuses its buffers.
type ShareWriter interface {
	WriteAt(shnum int, off int64, p []byte) error
}

// Encode reads exactly l.Size bytes of plaintext from r and writes all n
// shares to w, streaming one segment at a time.
func Encode(r io.Reader, key [16]byte, l Layout, w ShareWriter) (*Result, error) {
	e, err := NewEncoder(key, l)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return encodeAll(e, r, "plaintext", l, w)
}

// encodeAll streams exactly l.Size bytes of r (what names them in errors)
// through e and writes every share to w: blocks as each segment is
// encoded, then each share's header and hashes.
func encodeAll(e *Encoder, r io.Reader, what string, l Layout, w ShareWriter) (*Result, error) {
	buf := bufpool.Get(int(l.SegmentSize))
	defer bufpool.Put(buf)
	for s := 0; s < l.NumSegments; s++ {
		seg := buf[:l.SegmentLen(s)]
		if _, err := io.ReadFull(r, seg); err != nil {
			return nil, fmt.Errorf("read %s segment %d: %w", what, s, err)
		}
		blocks, err := e.EncodeSegment(seg)
		if err != nil {
			return nil, err
		}
		for i, b := range blocks {
			if err := w.WriteAt(i, l.BlockOffset(s), b); err != nil {
				return nil, fmt.Errorf("write share %d segment %d: %w", i, s, err)
			}
		}
	}
	res, err := e.Finish()
	if err != nil {
		return nil, err
	}
	for i := 0; i < l.N; i++ {
		if err := w.WriteAt(i, 0, res.Header()); err != nil {
			return nil, fmt.Errorf("write share %d header: %w", i, err)
		}
		if err := w.WriteAt(i, l.OffPlaintext, res.Trailer(i)); err != nil {
			return nil, fmt.Errorf("write share %d hashes: %w", i, err)
		}
	}
	return res, nil
}
