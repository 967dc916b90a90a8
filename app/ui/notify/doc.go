// Package notify turns the folder sync's events and the node's
// reachability changes into desktop notifications (fyne's
// App.SendNotification): a new conflict, a file that does not sync (with
// its path and what to do), the first sync of a folder finished, and a
// change of the reachability verdict.
//
// Rate limit: at most one notification per kind and folder per Every
// (default one minute). The first of a burst goes out at once; the ones
// after it are counted and, when the minute is over, sent as one "and N
// more" notification naming a few of them (which starts the next minute).
//
// Where the events come from:
//   - Source.Subscribe (syncer.Manager's events, api.Event): "conflict"
//     and "error" events are notified as they are; "status" events are
//     watched for a folder's first sync.
//   - The node's reachability is not a folder event: the caller hands each
//     new nat.Report to Notifier.Reachability, from any goroutine, or runs
//     FollowReach with the node's ReachChanged and Reach
//     (node/fullnode.Node). The first known verdict is the baseline and is
//     not notified; "unknown" (not measured yet) is never notified.
//
// "First sync finished" is told for a folder added while the notifier
// runs (it was not in Source.List at start) when it is first up to date;
// folders that were already there when the app started are not announced
// again at each start. A folder added and then left before its first sync
// finished is not remembered across restarts.
//
// Texts never carry caps: anything that looks like a Tahoe cap (URI:…)
// or a Foolscap FURL (pb://…, which carries a swissnum) is replaced by a
// placeholder before a notification is sent (Scrub).
package notify
