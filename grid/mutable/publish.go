package mutable

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/fec"
	"github.com/lafssync/lafssync/grid/hashtree"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// Replace publishes newContents as the next version. basedOn is the
// version the caller read; if the grid's newest version differs, or
// another writer wins any server during the write, Replace returns a
// *ConflictError and the caller should re-read, merge and retry. A zero
// basedOn overwrites unconditionally.
func (f *File) Replace(ctx context.Context, newContents []byte, basedOn Version) (Version, error) {
	if !f.rw {
		return Version{}, ErrReadOnly
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.mapServers(ctx)
	if err != nil {
		return Version{}, fmt.Errorf("replace %s: %w", f, err)
	}
	k, n := f.opts.K, f.opts.N
	if v := m.newest(); v != nil {
		k, n = v.h.K, v.h.N
	}
	if err := m.checkBase(basedOn); err != nil {
		return Version{}, err
	}
	if err := f.loadKey(ctx, m); err != nil {
		return Version{}, fmt.Errorf("replace %s: %w", f, err)
	}
	v, err := f.publish(ctx, m, newContents, m.maxSeq+1, k, n)
	if err != nil {
		return Version{}, fmt.Errorf("replace %s: %w", f, err)
	}
	return v, nil
}

// checkBase fails with a conflict if the grid moved on from basedOn.
func (m *servermap) checkBase(basedOn Version) error {
	if basedOn.IsZero() {
		return nil
	}
	// Compare with what a reader would get now (the newest recoverable
	// version); a partly written newer version is caught by the servers'
	// test vectors instead, so a torn race cannot wedge later writers.
	cur := m.highest()
	if v := m.newest(); v != nil {
		cur = v.id()
	}
	if cur != basedOn {
		return &ConflictError{Base: basedOn, Current: cur, Detail: "newer version on the grid"}
	}
	m.base = basedOn
	return nil
}

// newerThanBase reports whether share s belongs to a version the write is
// not based on and must not overwrite: a higher seqnum, or the base's
// seqnum with another root. The servers are not mapped at one instant, so
// such a share may be part of a version another writer published
// successfully on servers this map saw before it landed there; replacing
// it would hide that version's content under a version that lacks it.
func (m *servermap) newerThanBase(s mapShare) bool {
	if m.base.IsZero() {
		return false
	}
	return s.p.Seqnum > m.base.Seqnum || (s.p.Seqnum == m.base.Seqnum && s.p.Root != m.base.RootHash)
}

// loadKey recovers the signing key from a share's encrypted private key
// (AES-128-CTR under the write key, zero counter; Tahoe's
// mutable/common.py encrypt_privkey) and checks it hashes to the write key.
func (f *File) loadKey(ctx context.Context, m *servermap) error {
	if f.keys != nil {
		return nil
	}
	// A concurrent writer can move an SDMF key (it sits after the data)
	// between mapping and reading; try a fresh map a bounded number of times.
	var err error
	for attempt := 0; attempt < readAttempts; attempt++ {
		if attempt > 0 {
			if m, err = f.mapServers(ctx); err != nil {
				return err
			}
		}
		if err = f.loadKeyFrom(ctx, m); err == nil {
			return nil
		}
	}
	return err
}

func (f *File) loadKeyFrom(ctx context.Context, m *servermap) error {
	var lastErr error = errors.New("no share holds the private key")
	for _, s := range m.shares {
		enc := s.p.PrivKey
		if s.p.Version == versionSDMF {
			cctx, cancel := f.call(ctx)
			b, err := f.servers[s.srv].ReadMutableShare(cctx, f.si, s.shnum, s.p.offPrivKey, s.p.offEOF-s.p.offPrivKey)
			cancel()
			if err != nil {
				lastErr = err
				continue
			}
			enc = b
		}
		der := make([]byte, len(enc))
		ctr(f.wcap.WriteKey, der, enc)
		if taghash.SSKWriteKey(der) != f.wcap.WriteKey {
			lastErr = corrupt("encrypted private key in share %d does not match the write cap", s.shnum)
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			lastErr = corrupt("private key: %v", err)
			continue
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			lastErr = corrupt("private key is %T", k)
			continue
		}
		keys, err := NewKeys(rk)
		if err != nil {
			lastErr = err
			continue
		}
		f.keys = keys
		return nil
	}
	return fmt.Errorf("recover signing key: %w", lastErr)
}

// encoded is a version ready to place: one share byte string per shnum.
type encoded struct {
	h      header
	shares []shareParts
}

// encode encrypts, erasure-codes, hashes and signs contents as version seq.
func (f *File) encode(contents []byte, seq uint64, k, n int) (*encoded, error) {
	h := header{Seqnum: seq, K: k, N: n, DataLen: uint64(len(contents))}
	if f.format == cap.MDMF {
		h.Version = versionMDMF
		// Tahoe keeps the full segment size even for an empty file
		// (publish.py setup_encoding_parameters); it then has no segments.
		h.SegSize = nextMultiple(MaxSegmentSize, uint64(k))
	} else {
		h.Version = versionSDMF
		h.SegSize = nextMultiple(uint64(len(contents)), uint64(k))
		if _, err := rand.Read(h.Salt[:]); err != nil {
			return nil, err
		}
	}
	if err := h.geometry(); err != nil {
		return nil, err
	}
	code, err := fec.New(k, n)
	if err != nil {
		return nil, err
	}
	e := &encoded{h: h, shares: make([]shareParts, n)}
	leaves := make([][]hashtree.Hash, n)
	for sh := range e.shares {
		e.shares[sh].blocks = make([][]byte, h.numSegs)
		leaves[sh] = make([]hashtree.Hash, h.numSegs)
	}
	for i := 0; i < h.numSegs; i++ {
		salt := h.Salt
		if h.Version == versionMDMF {
			if _, err := rand.Read(salt[:]); err != nil {
				return nil, err
			}
		}
		lo := uint64(i) * h.SegSize
		blocks, err := encodeSegment(code, f.readKey, salt, contents[lo:lo+h.segLen(i)], h.Version == versionMDMF)
		if err != nil {
			return nil, err
		}
		for sh, b := range blocks {
			e.shares[sh].blocks[i] = b
			leaves[sh][i] = taghash.BlockHash(b)
		}
	}
	if err := f.finish(e, leaves); err != nil {
		return nil, err
	}
	return e, nil
}

// encodeSegment encrypts one segment and returns its n stored blocks
// (MDMF: salt‖block).
func encodeSegment(code *fec.Code, readKey, salt [16]byte, plain []byte, mdmf bool) ([][]byte, error) {
	k := code.K
	padded := make([]byte, nextMultiple(uint64(len(plain)), uint64(k)))
	ctr(taghash.SSKDataKey(salt[:], readKey[:]), padded, plain)
	bs := len(padded) / k
	pieces := make([][]byte, code.N)
	for j := 0; j < k; j++ {
		pieces[j] = padded[j*bs : (j+1)*bs]
	}
	for j := k; j < code.N; j++ {
		pieces[j] = make([]byte, bs)
	}
	if bs > 0 {
		if err := code.Encode(pieces); err != nil {
			return nil, err
		}
	}
	if !mdmf {
		return pieces, nil
	}
	out := make([][]byte, code.N)
	for j, p := range pieces {
		b := make([]byte, 0, saltLen+len(p))
		out[j] = append(append(b, salt[:]...), p...)
	}
	return out, nil
}

// finish builds the hash trees from the per-share block-hash leaves,
// signs, and lays out every share of e.
func (f *File) finish(e *encoded, leaves [][]hashtree.Hash) error {
	n := e.h.N
	roots := make([]hashtree.Hash, n)
	for sh := range e.shares {
		e.shares[sh].blockTree = hashtree.New(leaves[sh])
		roots[sh] = e.shares[sh].blockTree.Root()
	}
	st := hashtree.New(roots)
	e.h.Root = st.Root()
	d := sha256.Sum256(e.h.signed())
	sig, err := rsa.SignPSS(rand.Reader, f.keys.Private, crypto.SHA256, d[:], pssOptions)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	enc := make([]byte, len(f.keys.PrivateDER))
	ctr(f.keys.WriteKey, enc, f.keys.PrivateDER)
	for sh := range e.shares {
		s := &e.shares[sh]
		s.h = e.h
		s.verKey, s.sig, s.privKey = f.keys.PublicDER, sig, enc
		s.chain = map[int]hashtree.Hash{}
		for _, i := range hashtree.Needed(len(st), sh, false) {
			s.chain[i] = st[i]
		}
		if err := s.layout(); err != nil {
			return err
		}
	}
	return nil
}

// publish encodes contents as version seq and places it.
func (f *File) publish(ctx context.Context, m *servermap, contents []byte, seq uint64, k, n int) (Version, error) {
	e, err := f.encode(contents, seq, k, n)
	if err != nil {
		return Version{}, err
	}
	writes := make(map[int][]storage.WriteVector, n)
	for sh := range e.shares {
		// The signature goes last: a share written in several calls
		// (writeServer) and cut short has no valid signature yet.
		sp := &e.shares[sh]
		b := sp.marshal()
		lo, hi := sp.h.offSig, sp.h.offSig+uint64(len(sp.sig))
		writes[sh] = []storage.WriteVector{{Offset: 0, Data: b[:lo]}, {Offset: hi, Data: b[hi:]}, {Offset: lo, Data: b[lo:hi]}}
	}
	lengths := make(map[int]uint64, n)
	for sh := range e.shares {
		lengths[sh] = e.shares[sh].h.offEOF
	}
	return f.place(ctx, m, m.shares, e.h, writes, lengths, true)
}

// place writes each share's vectors to its servers (Tahoe's update_goal:
// shares stay where an old version of them is; homeless shares go to the
// servers holding fewest shares, ties in ring order). Each write tests the
// checkstring the server held, or that the slot is empty. Shares whose
// server fails are placed again on the remaining servers, for at most
// maxPlaceRounds rounds, if movable (whole shares are being written). It succeeds if at least k distinct shares landed.
func (f *File) place(ctx context.Context, m *servermap, holders []mapShare, h header, writes map[int][]storage.WriteVector, lengths map[int]uint64, movable bool) (Version, error) {
	ver := Version{Seqnum: h.Seqnum, RootHash: h.Root}
	prev := m.newest()           // the version a reader gets now, which this write supersedes
	old := map[shareKey][]byte{} // checkstring each (server, share) held
	count := map[int]int{}       // shares in the goal per server
	failed := map[int]bool{}
	goal := map[int]map[int]bool{}
	add := func(srv, sh int) {
		if goal[srv] == nil {
			goal[srv] = map[int]bool{}
		}
		if !goal[srv][sh] {
			goal[srv][sh] = true
			count[srv]++
		}
	}
	placed := map[int]bool{}
	// A share the servermap rejected (corrupt) is overwritten where it is:
	// the write tests the bytes it holds, and the slot keeps its place.
	for k, raw := range m.rejected {
		srv, sh := k[0], k[1]
		old[shareKey{srv, sh}] = raw
		if _, ok := writes[sh]; ok && m.bad[srv] == nil && movable {
			add(srv, sh)
			placed[sh] = true
		}
	}
	// Shares of versions newer than the base are left alone, and so are
	// the servers holding them: nothing of this version is written there,
	// and such a share is not placed elsewhere either (extra shares on
	// untested slots could make this version recoverable over a newer
	// one). The write lands on the other servers or conflicts.
	keep := map[int]bool{}
	for _, s := range holders {
		old[shareKey{s.srv, s.shnum}] = s.p.checkstring()
		if m.newerThanBase(s) {
			keep[s.srv] = true
			placed[s.shnum] = true
		}
	}
	for srv := range keep {
		delete(goal, srv) // a rejected share there is left alone too
		count[srv] = 0
	}
	for _, s := range holders {
		if keep[s.srv] {
			continue
		}
		if _, ok := writes[s.shnum]; ok && m.bad[s.srv] == nil {
			add(s.srv, s.shnum)
			placed[s.shnum] = true
		}
	}
	var homeless []int
	for sh := range writes {
		if !placed[sh] {
			homeless = append(homeless, sh)
		}
	}
	landed := map[int]bool{}
	touched := map[int]bool{} // servers written to (whether or not it landed)
	var errs []error
	for round := 0; round < maxPlaceRounds; round++ {
		sort.Ints(homeless)
		var usable []int
		for _, i := range m.ring {
			if m.bad[i] == nil && !failed[i] && !keep[i] {
				usable = append(usable, i)
			}
		}
		for _, sh := range homeless {
			if len(usable) == 0 {
				break
			}
			sort.SliceStable(usable, func(a, b int) bool {
				if count[usable[a]] != count[usable[b]] {
					return count[usable[a]] < count[usable[b]]
				}
				return m.pos[usable[a]] < m.pos[usable[b]]
			})
			add(usable[0], sh)
		}
		if len(goal) == 0 {
			break
		}
		// A write split into several calls per server goes in two waves
		// when it overwrites the version a reader would get now: first
		// the servers not needed to keep k of that version's shares,
		// then, once k shares of the new version have landed, the rest.
		// A writer that dies (or whose servers fail) mid-write leaves its
		// torn shares on the first wave only, where they fail the
		// signature check, and the old version stays readable.
		waves := []map[int]map[int]bool{goal}
		if last := lastWave(goal, prev, h.K, m.ring, func(srv int) bool { return f.chunked(goal[srv], writes) }, touched, len(failed) > 0); last != nil {
			first, second := map[int]map[int]bool{}, map[int]map[int]bool{}
			for srv, shs := range goal {
				if last[srv] {
					second[srv] = shs
				} else {
					first[srv] = shs
				}
			}
			waves = []map[int]map[int]bool{first, second}
		}
		goal = map[int]map[int]bool{}
		homeless = homeless[:0]
		for wi, wave := range waves {
			if len(wave) == 0 {
				continue
			}
			if wi > 0 && len(landed) < h.K {
				// Too few new shares complete: leave the servers keeping
				// the old version alone this round.
				goal = wave
				break
			}
			for srv := range wave {
				touched[srv] = true
			}
			if err := f.writeWave(ctx, wave, old, writes, lengths, h, m, func(srv int, shares map[int]bool, err error) {
				if err != nil {
					errs = append(errs, fmt.Errorf("server %s: %w", f.servers[srv].Info().Nickname, err))
					failed[srv] = true
					count[srv] = 0
					for sh := range shares {
						homeless = append(homeless, sh)
					}
					return
				}
				for sh := range shares {
					landed[sh] = true
				}
			}); err != nil {
				return Version{}, err
			}
		}
		// A share that landed somewhere need not be placed again.
		kept := homeless[:0]
		for _, sh := range homeless {
			if !landed[sh] {
				kept = append(kept, sh)
			}
		}
		homeless = kept
		if !movable {
			homeless = nil
		}
		if len(homeless) == 0 && len(goal) == 0 {
			break
		}
	}
	if len(landed) < h.K && len(keep) > 0 {
		// Too few servers left to write on, the others hold newer shares:
		// the caller should re-read and retry, as after any conflict.
		return Version{}, &ConflictError{Base: m.base, Current: m.highest(), Detail: fmt.Sprintf("%d servers hold a newer version, %d shares written", len(keep), len(landed))}
	}
	if len(landed) < h.K {
		return Version{}, f.tooFewWritten(len(landed), h.K, errs, m)
	}
	if len(errs) > 0 || len(landed) < len(writes) {
		f.opts.Logger.Warn("mutable: publish placed fewer shares than wanted", "file", f, "placed", len(landed), "wanted", len(writes), "errors", errors.Join(errs...))
	}
	if len(keep) > 0 {
		// Another writer's version is still on the servers left alone,
		// and that writer may be doing the same on ours: two writes
		// that leave each other's servers alone never meet a test
		// vector, and both would succeed, the one readers do not pick
		// lost (TestWritersLeavingEachOthersSharesCannotBothSucceed).
		// So this is a conflict, though this version landed: the caller
		// re-reads and writes on top of the newest, which then
		// outranks what was left here and replaces it.
		return Version{}, &ConflictError{Base: m.base, Current: ver,
			Detail: fmt.Sprintf("%d shares written, %d servers left holding another writer's version", len(landed), len(keep))}
	}
	return ver, nil
}

// ErrNoServers means a write had no storage server to go to: the file was
// given none.
var ErrNoServers = errors.New("no storage server to write to")

// tooFewWritten is the error of a publish that wrote fewer than k distinct
// shares: why each server took none (its write failed, or it did not
// answer the servermap query and so got nothing to write), or that there
// was no server at all. It never wraps an empty error list.
func (f *File) tooFewWritten(landed, k int, errs []error, m *servermap) error {
	bad := make([]int, 0, len(m.bad))
	for i := range m.bad {
		bad = append(bad, i)
	}
	sort.Ints(bad)
	for _, i := range bad {
		errs = append(errs, fmt.Errorf("server %s did not answer: %w", f.servers[i].Info().Nickname, m.bad[i]))
	}
	var why error
	switch {
	case len(errs) > 0:
		why = errors.Join(errs...)
	case len(f.servers) == 0:
		why = ErrNoServers
	default:
		// Not reached today: every server either answered (and was
		// written to) or is in m.bad. Said plainly in case that changes.
		why = fmt.Errorf("none of the %d storage servers took a share", len(f.servers))
	}
	return fmt.Errorf("only %d distinct shares written, need %d: %w", landed, k, why)
}

// shareKey names one share on one server (an index into File.servers).
type shareKey struct{ srv, sh int }

// writeWave writes the shares of goal (server → shares) to their servers
// concurrently, each tested against the checkstring old says the server
// held (or its absence), and calls done for each server that answered
// (err nil: its shares landed). A server whose test failed ends the wave
// with a *ConflictError; a cancelled ctx ends it with ctx.Err().
func (f *File) writeWave(ctx context.Context, goal map[int]map[int]bool, old map[shareKey][]byte, writes map[int][]storage.WriteVector,
	lengths map[int]uint64, h header, m *servermap, done func(srv int, shares map[int]bool, err error)) error {
	type result struct {
		srv     int
		ok      bool
		err     error
		current []byte // the checkstring the server holds, after a failed test
		shares  map[int]bool
	}
	results := make(chan result, len(goal))
	var wg sync.WaitGroup
	for srv, shs := range goal {
		wg.Go(func() {
			tw := make(map[int]storage.TestWrite, len(shs))
			for sh := range shs {
				test := storage.TestVector{Offset: 0, Size: 1, Specimen: []byte{}}
				if cs, ok := old[shareKey{srv, sh}]; ok {
					test = storage.TestVector{Offset: 0, Size: uint64(len(cs)), Specimen: cs}
				}
				nl := lengths[sh]
				tw[sh] = storage.TestWrite{Tests: []storage.TestVector{test}, Writes: writes[sh], NewLength: &nl}
			}
			ok, current, err := f.writeServer(ctx, srv, tw, h.checkstring())
			results <- result{srv: srv, ok: ok, err: err, shares: shs, current: current}
		})
	}
	wg.Wait()
	close(results)
	var conflict *ConflictError
	for r := range results {
		switch {
		case r.err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			done(r.srv, r.shares, r.err)
		case !r.ok:
			c := &ConflictError{Base: m.highest(), Detail: "server " + f.servers[r.srv].Info().Nickname + " holds a share written by someone else"}
			if len(r.current) >= mdmfCheckLen {
				c.Current.Seqnum = binary.BigEndian.Uint64(r.current[1:9])
				copy(c.Current.RootHash[:], r.current[9:41])
			}
			conflict = c
		default:
			done(r.srv, r.shares, nil)
		}
	}
	if conflict != nil {
		return conflict
	}
	return nil
}

// lastWave picks, for a round of writes (goal: server → shares), the
// servers to write last so that k distinct shares of prev (the version
// readers get now) survive until the new version has k complete shares:
// prev's shares the round does not overwrite (on servers an earlier round
// did not write to: touched) count first, then those of the servers taken
// in ring order. It is nil when no split is needed or
// none helps: prev is nil, k of its shares survive anyway, no write to a
// server holding prev is split (split reports whether a server's write
// takes several calls; a single call is atomic), or every server would
// have to wait while no server has failed (k = n, say: then there is no
// way to keep the old version whole). After failures, every server may
// have to wait: the write then fails rather than tear the last k shares
// of the readable version.
func lastWave(goal map[int]map[int]bool, prev *version, k int, ring []int, split func(srv int) bool, touched map[int]bool, anyFailed bool) map[int]bool {
	if prev == nil {
		return nil
	}
	survive := map[int]bool{}
	overwritten := map[int][]int{} // server → prev's shares this round overwrites there
	for _, s := range prev.shares {
		switch {
		case goal[s.srv][s.shnum]:
			overwritten[s.srv] = append(overwritten[s.srv], s.shnum)
		case !touched[s.srv]:
			survive[s.shnum] = true
		}
	}
	if len(survive) >= k {
		return nil
	}
	anySplit := false
	for srv := range overwritten {
		anySplit = anySplit || split(srv)
	}
	if !anySplit {
		return nil
	}
	last := map[int]bool{}
	for _, srv := range ring {
		if len(survive) >= k {
			break
		}
		if len(overwritten[srv]) == 0 {
			continue
		}
		last[srv] = true
		for _, sh := range overwritten[srv] {
			survive[sh] = true
		}
	}
	if len(survive) < k || (len(last) == len(goal) && !anyFailed) {
		return nil
	}
	return last
}

// chunked reports whether writing shares to one server takes more than
// one read-test-write call.
func (f *File) chunked(shares map[int]bool, writes map[int][]storage.WriteVector) bool {
	total := 0
	for sh := range shares {
		for _, w := range writes[sh] {
			total += len(w.Data)
		}
	}
	return total > f.writeLimit()
}

// writeLimit is the most share bytes one read-test-write call carries.
func (f *File) writeLimit() int {
	limit := f.opts.MaxWriteSize
	if limit <= 0 {
		limit = DefaultMaxWriteSize
	}
	return max(limit, minWriteSize)
}

// maxPlaceRounds bounds how often shares of failed servers are re-placed.
const maxPlaceRounds = 3

// DefaultMaxWriteSize is the default bound on the share bytes one
// read-test-write call carries (Options.MaxWriteSize). The HTTP storage
// server refuses read-test-write bodies over 32 MiB (node/gbs
// Limits.MaxRTWBody); half of that leaves room for the vectors.
const DefaultMaxWriteSize = 16 << 20

// minWriteSize is the smallest chunk a write is split into: the first
// chunk of each share must hold its whole checkstring.
const minWriteSize = 4 << 10

// writeServer writes the shares in tw (each with one test, on the share's
// old checkstring or on its absence) to server srv, in as many
// read-test-write calls as Options.MaxWriteSize requires. ok is false if
// a test failed (another writer got there first); current is then the
// checkstring the server holds.
//
// A share too large for one call is written in pieces: its first piece
// covers offset 0, so the first call that touches it replaces its
// checkstring (testing the old one) with this version's, cs; every later
// piece tests cs. No other writer can interleave: any other write fails
// the test of the next piece (and a later writer that tested cs has
// replaced the checkstring itself). A share cut short (the writer failed
// or crashed between calls) carries this version's signed header over
// blocks, hash trees or a signature that are partly another version's or
// missing, so it fails the reader's checks (signature over the header,
// share hash chain against the signed root, block hashes) and counts as
// corrupt, never as good data; new-length goes with the last piece only.
func (f *File) writeServer(ctx context.Context, srv int, tw map[int]storage.TestWrite, cs []byte) (ok bool, current []byte, err error) {
	s := f.servers[srv]
	for _, call := range chunkWrites(tw, cs, uint64(f.writeLimit())) {
		cctx, cancel := f.call(ctx)
		r, err := s.ReadTestWrite(cctx, f.si, f.writeEnabler(s), f.leaseSecrets(s), call, []storage.ReadVector{{Offset: 0, Size: mdmfCheckLen}})
		cancel()
		if err != nil {
			return false, nil, err
		}
		if !r.OK {
			for _, rs := range r.Reads {
				if len(rs) > 0 {
					return false, rs[0], nil
				}
			}
			return false, nil, nil
		}
	}
	return true, nil, nil
}

// writesCheckstring reports whether ws writes the first n bytes of the
// share in one vector.
func writesCheckstring(ws []storage.WriteVector, n int) bool {
	for _, w := range ws {
		if w.Offset == 0 && len(w.Data) >= n {
			return true
		}
	}
	return false
}

// chunkWrites splits the test-writes of one server into calls whose write
// data is at most limit bytes (a single vector is cut as needed). Each
// share's vectors are taken header first (the vector at offset 0, which
// holds the checkstring). A share's first piece carries its own test;
// later pieces test cs, the checkstring the first piece wrote. A share's
// new length goes with its last piece. Everything fits in one call (the
// common case) when the writes total at most limit.
func chunkWrites(tw map[int]storage.TestWrite, cs []byte, limit uint64) []map[int]storage.TestWrite {
	total := uint64(0)
	for _, t := range tw {
		for _, w := range t.Writes {
			total += uint64(len(w.Data))
		}
	}
	if total <= limit {
		// One call is atomic: send each share's vectors (which never
		// overlap) in offset order, so no server sees a gap it must fill;
		// the signature-last order matters only across calls.
		one := make(map[int]storage.TestWrite, len(tw))
		for sh, t := range tw {
			t.Writes = slices.Clone(t.Writes)
			sort.SliceStable(t.Writes, func(a, b int) bool { return t.Writes[a].Offset < t.Writes[b].Offset })
			one[sh] = t
		}
		return []map[int]storage.TestWrite{one}
	}
	for _, t := range tw {
		if !writesCheckstring(t.Writes, len(cs)) {
			// Pieces after the first could not test a checkstring
			// this write set: send it whole (the server may refuse).
			return []map[int]storage.TestWrite{tw}
		}
	}
	shnums := make([]int, 0, len(tw))
	for sh := range tw {
		shnums = append(shnums, sh)
	}
	sort.Ints(shnums)
	var calls []map[int]storage.TestWrite
	cur, room := map[int]storage.TestWrite{}, limit
	flush := func() {
		if len(cur) > 0 {
			calls = append(calls, cur)
		}
		cur, room = map[int]storage.TestWrite{}, limit
	}
	for _, sh := range shnums {
		t := tw[sh]
		ws := append([]storage.WriteVector(nil), t.Writes...)
		sort.SliceStable(ws, func(a, b int) bool { return ws[a].Offset == 0 && ws[b].Offset != 0 })
		started := false
		for wi, w := range ws {
			data, off := w.Data, w.Offset
			for first := true; first || len(data) > 0; first = false {
				if room == 0 {
					flush()
				}
				n := min(uint64(len(data)), room)
				if !started && n < uint64(len(cs)) && uint64(len(data)) >= uint64(len(cs)) {
					// The checkstring goes whole into the share's first piece.
					flush()
					n = min(uint64(len(data)), room)
				}
				e := cur[sh]
				if len(e.Tests) == 0 {
					if started {
						e.Tests = []storage.TestVector{{Offset: 0, Size: uint64(len(cs)), Specimen: cs}}
					} else {
						e.Tests = t.Tests
					}
				}
				e.Writes = append(e.Writes, storage.WriteVector{Offset: off, Data: data[:n]})
				if wi == len(ws)-1 && n == uint64(len(data)) {
					e.NewLength = t.NewLength
				}
				cur[sh] = e
				started = true
				data, off, room = data[n:], off+n, room-n
			}
		}
		if len(ws) == 0 {
			cur[sh] = t
		}
	}
	flush()
	return calls
}
