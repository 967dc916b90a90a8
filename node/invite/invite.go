package invite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/psanford/wormhole-william/wordlist"
)

// AppID is Tahoe-LAFS's app ID for invites: with the same mailbox server,
// `tahoe invite` and `tahoe create-client --join` speak to us.
const AppID = "tahoe-lafs.org/invite"

// DefaultMailboxURL is the public magic-wormhole mailbox server (Tahoe's
// own default is ws://wormhole.tahoe-lafs.org:4000/v1).
const DefaultMailboxURL = "ws://relay.magic-wormhole.io:4000/v1"

// closeTimeout bounds saying goodbye to the mailbox server.
const closeTimeout = 5 * time.Second

// Options are where and how to meet the other side.
type Options struct {
	// MailboxURL is the mailbox server's websocket URL; empty: DefaultMailboxURL.
	MailboxURL string
	// AppID separates applications on one server; empty: AppID.
	AppID string
	// Words is how many words follow the number in a new code (default 2,
	// as magic-wormhole and Tahoe).
	Words int
}

func (o Options) url() string {
	if o.MailboxURL != "" {
		return o.MailboxURL
	}
	return DefaultMailboxURL
}

func (o Options) appID() string {
	if o.AppID != "" {
		return o.AppID
	}
	return AppID
}

// Pending is an invite waiting for the other side.
type Pending struct {
	// Code is what the other side types: a secret for the user to pass on,
	// not to log.
	Code string

	s         *session
	nameplate string
	inv       Invite
}

// Create allocates a code on the mailbox server for inv. The caller shows
// Code to the user, then calls Wait (or Close to abandon it).
func Create(ctx context.Context, o Options, inv Invite) (*Pending, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	mb, err := dialMailbox(ctx, o.url(), o.appID())
	if err != nil {
		return nil, err
	}
	nameplate, err := mb.allocate(ctx)
	if err != nil {
		mb.close(ctx, "errory")
		return nil, err
	}
	words := o.Words
	if words < 2 {
		words = 2
	}
	code := nameplate + "-" + wordlist.ChooseWords(words)
	s := &session{mb: mb, appID: o.appID()}
	if err := s.startPAKE(ctx, code); err != nil {
		s.close("errory")
		return nil, err
	}
	return &Pending{Code: code, s: s, nameplate: nameplate, inv: inv}, nil
}

// Wait waits (bounded by ctx) for the other side, runs the exchange and
// sends the invite. An error means the invite is spent either way: a code
// is good for one try.
func (p *Pending) Wait(ctx context.Context) (err error) {
	s := p.s
	defer func() { s.close(moodOf(err)) }()
	if err := s.finishPAKE(ctx); err != nil {
		return waitErr(ctx, err)
	}
	// Both sides are in the mailbox: the number can serve another invite.
	if err := s.mb.release(ctx, p.nameplate); err != nil {
		return err
	}
	if err := s.exchangeVersions(ctx); err != nil {
		return waitErr(ctx, err)
	}
	if err := s.send(ctx, abilitiesOf(abilityServer, abilityLAFS)); err != nil {
		return err
	}
	var theirs abilities
	if err := s.get(ctx, "0", &theirs); err != nil {
		return waitErr(ctx, err)
	}
	if _, ok := theirs.Abilities[abilityClient]; !ok {
		return errors.New("the other side is not joining a grid (no client-v1 ability): nothing sent")
	}
	return s.send(ctx, p.inv)
}

// Close abandons a pending invite that Wait has not run.
func (p *Pending) Close() { p.s.close("lonely") }

// waitErr names a timeout as what the user sees: nobody came.
func waitErr(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("nobody used the invite code in time: %w", err)
	}
	return err
}

func moodOf(err error) string {
	switch {
	case err == nil:
		return "happy"
	case errors.Is(err, ErrWrongCode):
		return "scary"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "lonely"
	}
	return "errory"
}

// ErrNoSuchCode is the error when no invite with the code's number is
// waiting on the mailbox server.
var ErrNoSuchCode = errors.New("no invite with this code is waiting on the mailbox server: check the number, and that the inviting side's `lafs invite` is still running")

// ParseCode checks a code's shape ("7-guitarist-revenge") and returns its
// nameplate (the number). Its errors never quote the code.
func ParseCode(code string) (nameplate string, err error) {
	np, words, ok := strings.Cut(strings.TrimSpace(code), "-")
	if !ok || !isNameplate(np) || words == "" || len(code) > 256 {
		return "", errors.New("an invite code is a number and words joined by dashes, like 7-guitarist-revenge")
	}
	return np, nil
}

// Accept joins the invite with code: it meets the inviting side and
// returns the validated invite. Bound it with ctx: a code whose number
// exists but whose inviter has gone waits for ctx.
func Accept(ctx context.Context, o Options, code string) (inv Invite, err error) {
	code = strings.TrimSpace(code)
	nameplate, err := ParseCode(code)
	if err != nil {
		return inv, err
	}
	mb, err := dialMailbox(ctx, o.url(), o.appID())
	if err != nil {
		return inv, err
	}
	s := &session{mb: mb, appID: o.appID()}
	defer func() { s.close(moodOf(err)) }()
	// Claiming an unknown number would make it and wait for an inviter
	// who never comes: ask first (servers that do not list are waited on).
	found, known, err := mb.listed(ctx, nameplate)
	if err != nil {
		return inv, err
	}
	if known && !found {
		return inv, ErrNoSuchCode
	}
	if err := mb.claim(ctx, nameplate); err != nil {
		return inv, err
	}
	if err := s.startPAKE(ctx, code); err != nil {
		return inv, err
	}
	if err := s.finishPAKE(ctx); err != nil {
		return inv, err
	}
	if err := mb.release(ctx, nameplate); err != nil {
		return inv, err
	}
	if err := s.exchangeVersions(ctx); err != nil {
		return inv, err
	}
	if err := s.send(ctx, abilitiesOf(abilityClient, abilityLAFS)); err != nil {
		return inv, err
	}
	var theirs abilities
	if err := s.get(ctx, "0", &theirs); err != nil {
		return inv, err
	}
	if _, ok := theirs.Abilities[abilityServer]; !ok {
		return inv, errors.New("the other side is not inviting to a grid (no server-v1 ability)")
	}
	if err := s.get(ctx, "1", &inv); err != nil {
		return Invite{}, err
	}
	if err := inv.Validate(); err != nil {
		return Invite{}, err
	}
	return inv, nil
}
