package immutable

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/placement"
	"github.com/lafssync/lafssync/grid/storage"
)

// CheckResult reports the health of an immutable file.
type CheckResult struct {
	// Shares maps each share number found to the servers holding it.
	Shares    map[int][]string
	Needed    int
	Total     int
	Happiness int
	// Recoverable: at least k distinct good shares.
	Recoverable bool
	// Healthy: every share present (and, when verified, intact: a share
	// counts only if a good copy exists) and happiness at least the
	// client's shares.happy. Bad copies left on servers beside good ones
	// elsewhere (as after a repair) are listed in Bad but do not make the
	// file unhealthy.
	Healthy bool
	// Bad lists shares that failed verification or could not be listed.
	Bad []BadShare
	// Verified is true when every block was read and checked.
	Verified bool
}

// Summary is one line for people.
func (r *CheckResult) Summary() string {
	state := "healthy"
	switch {
	case !r.Recoverable:
		state = "NOT RECOVERABLE"
	case !r.Healthy:
		state = "unhealthy"
	}
	return fmt.Sprintf("%s: %d of %d shares present (need %d), on servers giving happiness %d; %d bad",
		state, len(r.Shares), r.Total, r.Needed, r.Happiness, len(r.Bad))
}

// Check finds every share of the file; with verify it also downloads and
// checks every block of every share (without keeping the plaintext).
func (c *Client) Check(ctx context.Context, fc cap.Cap, verify bool) (*CheckResult, error) {
	if d, ok := fc.(*cap.Dir); ok {
		fc = d.File
	}
	var ref chk.Ref
	switch x := fc.(type) {
	case *cap.LIT:
		return &CheckResult{Shares: map[int][]string{}, Recoverable: true, Healthy: true, Verified: verify}, nil
	case *cap.CHK:
		ref = chk.Ref{Key: x.Key, UEBHash: x.UEBHash, K: x.K, N: x.N, Size: x.Size}
	case *cap.CHKVerifier:
		if verify {
			return nil, errors.New("check: verifying needs the read cap (a verify cap cannot decrypt the UEB check in this version)")
		}
		ref = chk.Ref{UEBHash: x.UEBHash, K: x.K, N: x.N, Size: x.Size}
		return c.checkSI(ctx, x.SI, ref, false)
	default:
		return nil, fmt.Errorf("check: %s is not an immutable file cap", fc.Kind())
	}
	si, _ := fc.StorageIndex()
	return c.checkSI(ctx, si, ref, verify)
}

func (c *Client) checkSI(ctx context.Context, si storage.SI, ref chk.Ref, verify bool) (*CheckResult, error) {
	locs, bad := c.locate(ctx, si)
	res := &CheckResult{Shares: map[int][]string{}, Needed: ref.K, Total: ref.N, Bad: bad, Verified: verify}
	var dec *chk.Decoder
	if verify {
		var err error
		if dec, err = chk.NewDecoder(ref); err != nil {
			return nil, err
		}
	}
	good := map[storage.Server][]int{}
	for _, l := range locs {
		if verify {
			if err := c.verifyShare(ctx, dec, si, l); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				res.Bad = append(res.Bad, BadShare{Server: l.srv.Info().Nickname, ServerID: l.srv.Info().ID, Share: l.shnum, Reason: err.Error(), Err: err})
				var ce *storage.CorruptShareError
				if errors.As(err, &ce) {
					actx, cancel := c.call(context.WithoutCancel(ctx))
					_ = l.srv.AdviseCorrupt(actx, storage.Immutable, si, l.shnum, ce.Reason)
					cancel()
				}
				continue
			}
		}
		res.Shares[l.shnum] = append(res.Shares[l.shnum], l.srv.Info().ID)
		good[l.srv] = append(good[l.srv], l.shnum)
	}
	var has [][]int
	for _, shares := range good {
		has = append(has, shares)
	}
	res.Happiness = placement.Happiness(has)
	res.Recoverable = len(res.Shares) >= ref.K
	happy := c.Params.Happy
	if happy == 0 {
		happy = chk.DefaultHappy
	}
	res.Healthy = len(res.Shares) == ref.N && res.Happiness >= min(happy, ref.N)
	sort.Slice(res.Bad, func(i, j int) bool { return res.Bad[i].Share < res.Bad[j].Share })
	return res, nil
}

func (c *Client) verifyShare(ctx context.Context, dec *chk.Decoder, si storage.SI, l located) error {
	s, err := dec.OpenShare(ctx, l.shnum, &serverShare{c: c, srv: l.srv, si: si, shnum: l.shnum})
	if err != nil {
		return err
	}
	// Every share carries the crypttext tree: check each copy.
	fresh, _ := chk.NewDecoder(dec.Ref())
	if s2, err := fresh.OpenShare(ctx, l.shnum, &serverShare{c: c, srv: l.srv, si: si, shnum: l.shnum}); err != nil {
		return err
	} else if err := fresh.LoadCrypttextTree(ctx, s2); err != nil {
		return err
	}
	lay, _ := dec.Layout()
	for seg := 0; seg < lay.NumSegments; seg++ {
		if _, err := s.ReadBlock(ctx, seg); err != nil {
			return err
		}
	}
	return nil
}

// RepairResult reports what a repair did.
type RepairResult struct {
	Before, After *CheckResult
	// Placed counts shares written.
	Placed int
}

// Repair checks the file (verifying if asked) and, if it is unhealthy but
// recoverable, regenerates the missing shares and places them. Encoding is
// deterministic, so the regenerated shares are byte-identical to the lost
// ones: they are rebuilt by re-encoding the downloaded plaintext with the
// cap's own key and the file's segment size.
func (c *Client) Repair(ctx context.Context, fc cap.Cap, verify bool) (*RepairResult, error) {
	before, err := c.Check(ctx, fc, verify)
	if err != nil {
		return nil, err
	}
	out := &RepairResult{Before: before, After: before}
	if before.Healthy {
		return out, nil
	}
	if !before.Recoverable {
		return out, fmt.Errorf("repair: file is not recoverable: %s", before.Summary())
	}
	cc, ok := fc.(*cap.CHK)
	if !ok {
		if d, isDir := fc.(*cap.Dir); isDir {
			cc, ok = d.File.(*cap.CHK)
		}
	}
	if !ok {
		return out, fmt.Errorf("repair: %s cannot be repaired here", fc.Kind())
	}
	r, err := c.newReader(ctx, cc)
	if err != nil {
		return out, fmt.Errorf("repair: %w", err)
	}
	l, _ := r.dec.Layout()
	ueb := r.dec.UEB()
	layout, err := chk.NewLayout(cc.Size, cc.K, cc.N, ueb.SegmentSize)
	if err != nil {
		return out, err
	}
	// Which shares are missing (or only bad), and where do they go?
	si, _ := cc.StorageIndex()
	p := c.Params
	p.K, p.N = cc.K, cc.N
	sub := *c
	sub.Params = p
	var secret storage.Secret
	if _, err := rand.Read(secret[:]); err != nil {
		return out, err
	}
	// Shares that failed verification count as missing. Their servers keep
	// the bad copies (a complete immutable share cannot be rewritten, and
	// they were advised of the corruption during the check), so the
	// replacements are placed on other servers.
	corrupt := map[string][]int{}
	for _, b := range before.Bad {
		if b.Share >= 0 && errors.Is(b.Err, storage.ErrCorruptShare) {
			corrupt[b.ServerID] = append(corrupt[b.ServerID], b.Share)
		}
	}
	targets, _, err := sub.allocate(ctx, si, layout.ShareLen(len(ueb.Pack())), secret, corrupt)
	if err != nil {
		return out, fmt.Errorf("repair: %w", err)
	}
	var need []int
	for sh, t := range targets {
		if !t.present {
			need = append(need, sh)
		}
	}
	pr, pw := io.Pipe()
	go func() {
		for seg := 0; seg < l.NumSegments; seg++ {
			data, err := r.segment(ctx, seg)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(data); err != nil {
				return
			}
		}
		pw.Close()
	}()
	w := &serverWriter{c: &sub, si: si, secret: secret, targets: targets, happy: 1}
	res, err := chk.Encode(pr, cc.Key, layout, w)
	pr.CloseWithError(errors.New("repair stopped"))
	if err == nil {
		err = w.flushErr()
	}
	if err == nil && res.Ref.UEBHash != cc.UEBHash {
		err = errors.New("re-encoded file does not match the cap (different encoder parameters?)")
	}
	if err != nil {
		for _, sh := range need {
			t := targets[sh]
			actx, cancel := c.call(context.WithoutCancel(ctx))
			_ = t.srv.AbortShare(actx, si, sh, secret)
			cancel()
		}
		return out, fmt.Errorf("repair %s: %w", si, err)
	}
	out.Placed = len(need)
	// The result after repair is a check of the same depth as the one
	// before: after a verifying repair, every share is verified again.
	out.After, err = c.Check(ctx, fc, verify)
	return out, err
}
