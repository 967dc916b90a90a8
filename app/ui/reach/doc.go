// Package reach is the tray app's Reachability / Grid window: how other
// nodes can reach this one (node/nat's measured verdict with its evidence,
// docs/reachability.md), how much of the grid the node has (storage
// servers connected of those known, whether servers of happiness can be
// met), the upload helper and relays in use, and each piece of advice
// with an Apply button that makes the same tahoe.cfg change as
// `lafs reachability --apply ID`.
//
// The window reads the node through Source (NodeSource adapts a running
// *fullnode.Node); every call to it runs off the UI goroutine and the
// window is updated through fyne.Do. It does not restart the node itself:
// an applied change takes effect after a restart, and the window says so,
// offering "Restart node now" only when the caller gives it a way
// (Options.Restart).
package reach
