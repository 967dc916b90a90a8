package immutable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/placement"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Uploads through an upload helper (Tahoe's "assisted upload"): the
// client derives the key and encrypts, the helper erasure-codes the
// ciphertext and places the shares. The client sends the file once
// instead of n/k times, and the helper never holds the key. The network
// side is node/helper; both halves are here because both are the CHK
// format's business.

// Helper is an upload helper as an uploading client sees it.
type Helper interface {
	// Start announces the upload of si (size bytes, encoded with p). The
	// helper answers with the UEB if the file is already on the grid, or
	// with how many bytes of its ciphertext it already holds (an earlier,
	// interrupted upload), from which Send continues.
	Start(ctx context.Context, si storage.SI, size int64, p Params) (HelperStart, error)
	// Send streams ciphertext from byte offset to the end of the file.
	Send(ctx context.Context, si storage.SI, offset int64, ciphertext io.Reader) error
	// Finish has the helper check the ciphertext it holds against the
	// crypttext hash, encode it and place the shares.
	Finish(ctx context.Context, si storage.SI, crypttextHash [32]byte) (HelperResult, error)
	// Abort drops what the helper holds for si.
	Abort(ctx context.Context, si storage.SI) error
}

// HelperStart is a helper's answer to Start.
type HelperStart struct {
	// Present: the file is on the grid already; UEB is its packed UEB,
	// Happiness the spread of its shares.
	Present   bool
	UEB       []byte
	Happiness int
	// Have is how many bytes of ciphertext the helper holds.
	Have int64
}

// HelperResult is a helper's answer to Finish.
type HelperResult struct {
	UEB       []byte
	Placement map[int]string // share → server ID
	Happiness int
	Uploaded  int
}

// ErrHelperLied means the helper's UEB does not describe the file the
// client encrypted: the upload is not trusted and no cap is returned.
var ErrHelperLied = errors.New("the upload helper returned a UEB for other content")

// uploadViaHelper is encodeAndPlace through c.Helper. r is read once:
// encrypted and hashed from the start (the hashes let the client check
// the helper's UEB), and sent from where the helper's copy stops.
func (c *Client) uploadViaHelper(ctx context.Context, r io.Reader, l chk.Layout, key [16]byte, start time.Time, check func(error) error) (*UploadResult, error) {
	si := storage.SI(taghash.StorageIndex(key))
	st, err := c.Helper.Start(ctx, si, l.Size, c.Params)
	if err != nil {
		return nil, fmt.Errorf("upload %s through the helper: %w", si, err)
	}
	if st.Have < 0 || st.Have > l.Size {
		return nil, fmt.Errorf("upload %s through the helper: it claims %d bytes of a %d-byte file", si, st.Have, l.Size)
	}
	hasher := chk.NewCiphertextHasher(l)
	from := st.Have
	if st.Present {
		from = l.Size // send nothing; only hash
	}
	var sendErr error
	pr, pw := io.Pipe()
	readDone := make(chan error, 1)
	go func() {
		err := encryptTo(r, l.Size, key, hasher, from, pw)
		pw.CloseWithError(err)
		readDone <- err
	}()
	if from < l.Size {
		sendErr = c.Helper.Send(ctx, si, from, pr)
	} else {
		_, sendErr = io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(errors.New("upload: the helper stopped reading"))
	readErr := <-readDone
	if sendErr != nil {
		// A network failure (readErr is then only its echo): the helper
		// keeps what it received, and the next attempt sends the rest.
		return nil, fmt.Errorf("upload %s through the helper: send ciphertext: %w", si, sendErr)
	}
	if err := check(readErr); err != nil {
		if !st.Present {
			// What the helper holds may not be one file's ciphertext.
			actx, cancel := c.call(context.WithoutCancel(ctx))
			_ = c.Helper.Abort(actx, si)
			cancel()
		}
		return nil, fmt.Errorf("upload %s: %w", si, err)
	}
	whole, root, err := hasher.Sums()
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", si, err)
	}
	out := &UploadResult{Bytes: l.Size, Happiness: st.Happiness, Placement: map[int]string{}}
	ueb := st.UEB
	if !st.Present {
		res, err := c.Helper.Finish(ctx, si, whole)
		if err != nil {
			return nil, fmt.Errorf("upload %s through the helper: %w", si, err)
		}
		ueb, out.Happiness, out.Uploaded = res.UEB, res.Happiness, res.Uploaded
		for sh, id := range res.Placement {
			out.Placement[sh] = id
		}
	}
	if err := chk.CheckUEB(ueb, l, whole, root); err != nil {
		return nil, fmt.Errorf("upload %s: %w: %w", si, ErrHelperLied, err)
	}
	out.Cap = &cap.CHK{Key: key, UEBHash: taghash.UEBHash(ueb), K: l.K, N: l.N, Size: l.Size}
	out.Elapsed = time.Since(start)
	return out, nil
}

// encryptTo reads exactly size bytes of plaintext from r, encrypts them,
// hashes all of the ciphertext into h and writes the ciphertext from byte
// offset from on to w.
func encryptTo(r io.Reader, size int64, key [16]byte, h io.Writer, from int64, w io.Writer) error {
	ctr := chk.NewCTR(key, 0)
	buf := make([]byte, 256<<10)
	for off := int64(0); off < size; {
		n := int(min(int64(len(buf)), size-off))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return fmt.Errorf("read plaintext at %d: %w", off, err)
		}
		ct := buf[:n]
		ctr.XORKeyStream(ct, ct)
		if _, err := h.Write(ct); err != nil {
			return err
		}
		if end := off + int64(n); end > from {
			skip := max(0, from-off)
			if _, err := w.Write(ct[skip:]); err != nil {
				return err
			}
		}
		off += int64(n)
	}
	return nil
}

// UploadCiphertext is the helper's half: it encodes the ciphertext of si
// read from r (exactly l.Size bytes) into shares and places them on c's
// servers, with c's lease secret (the helper's leases, as in Tahoe) and
// c.Params for placement (the caller sets them to the client's). The
// shares are those the client would have written itself.
func (c *Client) UploadCiphertext(ctx context.Context, si storage.SI, l chk.Layout, r io.Reader) (HelperResult, error) {
	if err := c.Params.validate(); err != nil {
		return HelperResult{}, err
	}
	if l.K != c.Params.K || l.N != c.Params.N {
		return HelperResult{}, fmt.Errorf("upload %s: layout is %d-of-%d, parameters %d-of-%d", si, l.K, l.N, c.Params.K, c.Params.N)
	}
	out, res, err := c.placeEncoded(ctx, si, l, time.Now(), func(w chk.ShareWriter) (*chk.Result, error) {
		return chk.EncodeCiphertext(r, l, w)
	}, func(err error) error { return err })
	if err != nil {
		return HelperResult{}, err
	}
	return HelperResult{UEB: res.UEB, Placement: out.Placement, Happiness: out.Happiness, Uploaded: out.Uploaded}, nil
}

// FindOnGrid is the helper's check before an upload, as Tahoe's helper
// does it: the file is on the grid when all n of its shares are found
// (and, here, spread over at least Params.Happy servers). It returns a
// UEB read from one of them, unverified (the client checks it) but
// describing a file of layout l, and the shares' happiness.
func (c *Client) FindOnGrid(ctx context.Context, si storage.SI, l chk.Layout) (ueb []byte, happiness int, ok bool) {
	found, _ := c.locate(ctx, si)
	shares := map[int]bool{}
	byServer := map[storage.Server][]int{}
	for _, f := range found {
		if f.shnum >= 0 && f.shnum < l.N {
			shares[f.shnum] = true
			byServer[f.srv] = append(byServer[f.srv], f.shnum)
		}
	}
	has := make([][]int, 0, len(byServer))
	for _, s := range byServer {
		has = append(has, s)
	}
	happiness = placement.Happiness(has)
	if len(shares) < l.N || happiness < c.Params.Happy {
		return nil, happiness, false
	}
	for _, f := range found {
		raw, err := chk.ReadUEBUnverified(ctx, &serverShare{c: c, srv: f.srv, si: si, shnum: f.shnum}, f.shnum)
		if err != nil {
			continue
		}
		u, err := chk.ParseUEB(raw)
		if err != nil || u.Size != l.Size || u.NeededShares != l.K || u.TotalShares != l.N || u.SegmentSize != l.SegmentSize {
			continue
		}
		return raw, happiness, true
	}
	return nil, happiness, false
}
