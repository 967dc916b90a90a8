package mutable

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/lafssync/lafssync/grid/placement"
	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/taghash"
)

// firstRead is how much of each share the mapper reads at once: the whole
// MDMF reservation (key, hash chain, signature, verification key) and the
// SDMF header fields with a 10-share chain.
const firstRead = mdmfShareDataOff

// pssOptions is Tahoe's signature scheme (crypto/rsa.py: PSS, MGF1 with
// SHA-256, salt length 32).
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

// mapShare is one signed-and-checked share found on a server.
type mapShare struct {
	srv   int // index into File.servers
	shnum int
	p     *prefix
}

// version is the shares of one (signed header) version.
type version struct {
	signed string // the signed header bytes: identifies the version
	h      *header
	shares []mapShare
}

func (v *version) id() Version { return Version{Seqnum: v.h.Seqnum, RootHash: v.h.Root} }

func (v *version) distinct() int {
	seen := map[int]bool{}
	for _, s := range v.shares {
		seen[s.shnum] = true
	}
	return len(seen)
}

// servermap is what every server holds for the file.
type servermap struct {
	ring     []int         // server indexes in permuted order
	pos      map[int]int   // server index → ring position
	shares   []mapShare    // every good share, any version
	bad      map[int]error // servers that failed to answer
	problems []error       // rejected shares
	// rejected holds, for each rejected share the server did return
	// bytes of, its first bytes as the server holds them: a publish
	// (repair) tests them to overwrite the bad share in place, as Tahoe's
	// publisher does with the servermap's bad shares.
	rejected map[[2]int][]byte // (server index, share) → leading bytes
	versions map[string]*version
	maxSeq   uint64 // highest seqnum among good shares
	// base is the version a write checked it is based on (checkBase);
	// zero for an unconditional overwrite.
	base Version
}

// newest is the newest recoverable version, or nil.
func (m *servermap) newest() *version {
	var best *version
	for _, v := range m.versions {
		if v.distinct() < v.h.K {
			continue
		}
		if best == nil || v.h.Seqnum > best.h.Seqnum ||
			(v.h.Seqnum == best.h.Seqnum && bytes.Compare(v.h.Root[:], best.h.Root[:]) > 0) {
			best = v
		}
	}
	return best
}

func (m *servermap) highest() Version {
	var best Version
	for _, v := range m.versions {
		id := v.id()
		if id.Seqnum > best.Seqnum || (id.Seqnum == best.Seqnum && bytes.Compare(id.RootHash[:], best.RootHash[:]) > 0) {
			best = id
		}
	}
	return best
}

// mapServers asks every server (in permuted-ring order, concurrently)
// which shares it holds and checks each share's signed prefix.
func (f *File) mapServers(ctx context.Context) (*servermap, error) {
	seeds := make([][]byte, len(f.servers))
	for i, s := range f.servers {
		seeds[i] = s.Info().PermutationSeed
	}
	m := &servermap{ring: placement.Permute(f.si[:], seeds, nil), pos: map[int]int{},
		bad: map[int]error{}, versions: map[string]*version{}, rejected: map[[2]int][]byte{}}
	for p, i := range m.ring {
		m.pos[i] = p
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sigOK := map[string]error{} // signed‖signature → result, guarded by mu
	for _, i := range m.ring {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			srv := f.servers[i]
			cctx, cancel := f.call(ctx)
			defer cancel()
			nums, err := srv.ListMutableShares(cctx, f.si)
			if err != nil {
				mu.Lock()
				m.bad[i] = err
				mu.Unlock()
				return
			}
			for _, sh := range nums {
				p, raw, err := f.readPrefix(cctx, srv, sh)
				if err == nil {
					key := string(p.signed()) + string(p.Signature) + string(p.VerKey)
					mu.Lock()
					res, done := sigOK[key]
					mu.Unlock()
					if !done {
						res = f.checkSignature(p)
						mu.Lock()
						sigOK[key] = res
						mu.Unlock()
					}
					err = res
				}
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, storage.ErrCorruptShare) {
						m.bad[i] = err
					} else {
						m.problems = append(m.problems, corruptShare(srv, sh, err))
						if len(raw) > 0 {
							m.rejected[[2]int{i, sh}] = raw[:min(len(raw), sdmfCheckLen)]
						}
					}
				} else {
					m.shares = append(m.shares, mapShare{srv: i, shnum: sh, p: p})
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(m.shares, func(a, b int) bool {
		x, y := m.shares[a], m.shares[b]
		if x.shnum != y.shnum {
			return x.shnum < y.shnum
		}
		return m.pos[x.srv] < m.pos[y.srv]
	})
	m.index()
	if v := m.newest(); v != nil {
		for _, s := range m.shares {
			if s.p.Seqnum < v.h.Seqnum {
				f.opts.Logger.Info("mutable: server offers an older version (stale or rolled back)", "file", f,
					"server", f.servers[s.srv].Info().Nickname, "share", s.shnum, "seqnum", s.p.Seqnum, "newest", v.h.Seqnum)
			}
		}
	}
	for _, e := range m.problems {
		f.opts.Logger.Warn("mutable: rejected share", "file", f, "err", e)
	}
	return m, nil
}

// readPrefix reads and parses the first part of a share; it also returns
// the bytes read (for a share that fails to parse, what it holds).
func (f *File) readPrefix(ctx context.Context, srv storage.Server, sh int) (*prefix, []byte, error) {
	b, err := srv.ReadMutableShare(ctx, f.si, sh, 0, firstRead)
	if err != nil {
		return nil, nil, fmt.Errorf("read share %d: %w", sh, err)
	}
	h, err := parseHeader(b)
	if err != nil {
		return nil, b, err
	}
	if need := h.prefixEnd(); uint64(len(b)) < need && len(b) == firstRead {
		more, err := srv.ReadMutableShare(ctx, f.si, sh, uint64(len(b)), need-uint64(len(b)))
		if err != nil {
			return nil, nil, fmt.Errorf("read share %d: %w", sh, err)
		}
		b = append(b, more...)
	}
	p, err := parsePrefix(b)
	return p, b, err
}

// checkSignature checks the verification key against the cap's
// fingerprint and the signature over the signed header.
func (f *File) checkSignature(p *prefix) error {
	if taghash.SSKFingerprint(p.VerKey) != f.fp {
		return corrupt("verification key does not match the cap's fingerprint")
	}
	k, err := x509.ParsePKIXPublicKey(p.VerKey)
	if err != nil {
		return corrupt("verification key: %v", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return corrupt("verification key is %T, not RSA", k)
	}
	d := sha256.Sum256(p.signed())
	if err := rsa.VerifyPSS(pub, crypto.SHA256, d[:], p.Signature, pssOptions); err != nil {
		return corrupt("bad signature for seqnum %d", p.Seqnum)
	}
	if p.N > 0 && !chainComplete(p) {
		return corrupt("share hash chain incomplete")
	}
	return nil
}

func chainComplete(p *prefix) bool {
	return len(p.Chain) <= 2*p.N
}

// index groups the map's shares by the version they hold (the signed
// prefix) and notes the highest seqnum, anew.
func (m *servermap) index() {
	m.versions, m.maxSeq = map[string]*version{}, 0
	for _, s := range m.shares {
		key := string(s.p.signed())
		v := m.versions[key]
		if v == nil {
			v = &version{signed: key, h: s.p.header}
			m.versions[key] = v
		}
		v.shares = append(v.shares, s)
		m.maxSeq = max(m.maxSeq, s.p.Seqnum)
	}
}
