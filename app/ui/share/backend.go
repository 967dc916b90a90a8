package share

import (
	"context"
	"errors"
	"fmt"

	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// Backend is what the window needs from the folder sync and the mailbox
// server. Every method may block on the network: the window calls them
// off the UI goroutine.
type Backend interface {
	// List is the folders of this node.
	List() []api.FolderStatus
	// Share is a cap of folder: kind api.ShareRead or api.ShareSnapshot.
	Share(ctx context.Context, folder, kind string) (string, error)
	// Add adds a folder; the window only follows (r.Follow set).
	Add(ctx context.Context, r api.AddRequest) (api.FolderStatus, error)
	// Invite makes an invite code carrying folder's read-cap. For a grid
	// that exists only on this computer (invite.Invite.LoopbackOnly: the
	// local grid) it fails with invite.ErrLocalGrid, before anything else,
	// unless allowLocal: the user confirmed it.
	Invite(ctx context.Context, folder string, allowLocal bool) (Pending, error)
	// Accept meets the inviting side with code and returns the folder the
	// invite carries (validated: a directory cap of the kind it claims).
	Accept(ctx context.Context, code string) (invite.Folder, error)
}

// Pending is an invite waiting for the friend.
type Pending interface {
	// Code is what the friend types. A secret: shown, never logged.
	Code() string
	// Wait returns once the friend has received the invite (nil) or it
	// failed; the code is spent either way.
	Wait(ctx context.Context) error
	// Close abandons an invite Wait was not called for.
	Close()
}

// Subscriber is a Backend that says when folders are added, change or go
// away: an open window then lists them as they are (NewBackend's is one
// when its Folders subscribes, as *syncer.Manager does).
type Subscriber interface {
	Subscribe() (events <-chan api.Event, cancel func())
}

// LocalGridTeller is a Backend that can say whether the folders' grid
// exists only on this computer (the local grid: every introducer on a
// loopback address, invite.Invite.LoopbackOnly): a cap copied from there
// is of no use to a friend on another computer. NewBackend's is one.
type LocalGridTeller interface {
	LocalGridOnly() (bool, error)
}

// Folders is the part of the folder sync the real Backend uses:
// *syncer.Manager has it.
type Folders interface {
	List() []api.FolderStatus
	Share(ctx context.Context, folder, kind string) (string, error)
	Add(ctx context.Context, r api.AddRequest) (api.FolderStatus, error)
}

// ErrNoFolderInInvite is Accept's error for an invite that carries no
// folder (an invite to join a grid).
var ErrNoFolderInInvite = errors.New("this invite code lets a device join a grid but carries no folder: use it in the first-run setup, or with lafs join")

// NewBackend is the real Backend: the folders of m (the in-process
// *syncer.Manager), and invites through the mailbox server of o. grid
// says what an invite tells the friend's node about this node's grid
// (introducers and encoding, as lafs invite sends them).
func NewBackend(m Folders, grid func() (invite.Invite, error), o invite.Options) Backend {
	return &backend{Folders: m, grid: grid, opts: o}
}

type backend struct {
	Folders
	grid func() (invite.Invite, error)
	opts invite.Options
}

// Subscribe is the folder sync's events (none when it has none).
func (b *backend) Subscribe() (<-chan api.Event, func()) {
	if s, ok := b.Folders.(Subscriber); ok {
		return s.Subscribe()
	}
	return nil, func() {}
}

// LocalGridOnly reads the node's grid (tahoe.cfg's introducers) as an
// invite would carry it.
func (b *backend) LocalGridOnly() (bool, error) {
	if b.grid == nil {
		return false, errors.New("this build of LAFS Sync does not know its grid")
	}
	inv, err := b.grid()
	if err != nil {
		return false, err
	}
	return inv.LoopbackOnly(), nil
}

func (b *backend) Invite(ctx context.Context, folder string, allowLocal bool) (Pending, error) {
	if b.grid == nil {
		return nil, errors.New("this build of LAFS Sync cannot make invites (it does not know its grid)")
	}
	inv, err := b.grid()
	if err != nil {
		return nil, err
	}
	if inv.LoopbackOnly() && !allowLocal {
		return nil, invite.ErrLocalGrid
	}
	st, err := b.find(folder)
	if err != nil {
		return nil, err
	}
	c, err := b.Share(ctx, st.Name, api.ShareRead)
	if err != nil {
		return nil, err
	}
	inv.Folder = &invite.Folder{Name: st.Name, Cap: c}
	p, err := invite.Create(ctx, b.opts, inv)
	if err != nil {
		return nil, err
	}
	return pending{p}, nil
}

// find is folder's status (its name or path), for its name in the invite.
func (b *backend) find(folder string) (api.FolderStatus, error) {
	for _, st := range b.List() {
		if st.Name == folder || st.Path == folder {
			return st, nil
		}
	}
	return api.FolderStatus{}, fmt.Errorf("%w: %q", api.ErrNoFolder, folder)
}

func (b *backend) Accept(ctx context.Context, code string) (invite.Folder, error) {
	inv, err := invite.Accept(ctx, b.opts, code)
	if err != nil {
		return invite.Folder{}, err
	}
	if inv.Folder == nil {
		return invite.Folder{}, ErrNoFolderInInvite
	}
	return *inv.Folder, nil
}

type pending struct{ p *invite.Pending }

func (p pending) Code() string                   { return p.p.Code }
func (p pending) Wait(ctx context.Context) error { return p.p.Wait(ctx) }
func (p pending) Close()                         { p.p.Close() }
