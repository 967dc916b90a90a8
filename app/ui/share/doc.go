// Package share is the tray app's Share window: a folder's read-cap as
// text with Copy and as a QR code, plain words on what a read-cap gives,
// a frozen snapshot as the alternative, an invite code that carries the
// read-cap, a "Follow a friend's folder" box that takes a read-cap or an
// invite code, and the list of whom each folder was shared with
// (app/shares, kept on this computer).
//
// The window talks to the folder sync and the mailbox server only through
// Backend, always off the UI goroutine; NewBackend is the real one (the
// in-process syncer.Manager and node/invite), tests use a fake.
//
// It does not make invites for the user's own devices (write caps: the
// first-run wizard and lafs invite --write do), and following from an
// invite code does not add the inviter's grid to this node: the folder
// must be on the grid this node uses (docs/invites.md).
package share
