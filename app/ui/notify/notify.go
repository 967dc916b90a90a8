package notify

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/internal/clock"
	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
)

// Source is the folder sync's side: its folders and its events.
type Source interface {
	List() []api.FolderStatus
	Subscribe() (events <-chan api.Event, cancel func())
}

// *syncer.Manager is a Source as it is.
var _ Source = (*syncer.Manager)(nil)

// Kinds of notification (each rate-limited on its own, per folder).
const (
	KindConflict = "conflict"
	KindError    = "error"
	KindSynced   = "first sync"
	KindReach    = "reachability"
)

// DefaultEvery is the rate limit's period.
const DefaultEvery = time.Minute

// maxNamed bounds the paths a coalesced notification names.
const maxNamed = 3

// Options are a Notifier's settings.
type Options struct {
	// Send sends one notification; nil: the app's SendNotification.
	Send  func(*fyne.Notification)
	Clock clock.Clock   // nil: clock.Real
	Every time.Duration // the rate limit's period (0: DefaultEvery)
	Log   *slog.Logger  // nil: discard
}

// Notifier sends the notifications. Run (or Start) owns its state; the
// other methods only hand things to it.
type Notifier struct {
	send  func(*fyne.Notification)
	clk   clock.Clock
	every time.Duration
	log   *slog.Logger
	reach chan nat.Report // the latest report not yet handled
	done  chan struct{}

	// Owned by Run's goroutine.
	buckets   map[key]*bucket
	known     map[string]bool // folders present when Run started, or already announced
	lastReach nat.Verdict

	mu      sync.Mutex // guards sent and verdict
	sent    int
	verdict nat.Verdict // lastReach, for readers outside Run
}

type key struct{ kind, folder string }

// bucket is one kind and folder's rate limit.
type bucket struct {
	until time.Time // nothing more goes out before then
	more  int       // held back since the last one sent
	named []string  // a few of the held-back ones
	last  *fyne.Notification
}

// New makes a Notifier; Run starts it.
func New(o Options) *Notifier {
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{send: o.Send, clk: clock.Or(o.Clock), every: o.Every, log: o.Log,
		reach: make(chan nat.Report, 1), done: make(chan struct{}),
		buckets: map[key]*bucket{}, known: map[string]bool{}}
}

// Start runs a Notifier for app a on src's events until ctx ends.
func Start(ctx context.Context, a fyne.App, src Source, o Options) *Notifier {
	if o.Send == nil {
		o.Send = a.SendNotification
	}
	n := New(o)
	go n.Run(ctx, src)
	return n
}

// Done is closed when Run has returned.
func (n *Notifier) Done() <-chan struct{} { return n.done }

// Sent counts the notifications sent (tests, the status window).
func (n *Notifier) Sent() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent
}

// Verdict is the last known reachability verdict it handled ("" none).
func (n *Notifier) Verdict() nat.Verdict {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.verdict
}

// Reachability hands the node's latest reachability report to the
// notifier; it never blocks (a report not yet handled is replaced).
func (n *Notifier) Reachability(r nat.Report) {
	for {
		select {
		case n.reach <- r:
			return
		default:
		}
		select {
		case <-n.reach:
		default:
		}
	}
}

// FollowReach hands the node's reports to n at each change until ctx
// ends: changed and get are the node's ReachChanged and Reach
// (node/fullnode.Node).
func FollowReach(ctx context.Context, n *Notifier, changed func() <-chan struct{}, get func() nat.Report) {
	for {
		ch := changed()
		n.Reachability(get())
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// Run sends notifications for src's events and the reports handed to
// Reachability until ctx ends.
func (n *Notifier) Run(ctx context.Context, src Source) {
	defer close(n.done)
	ev, cancel := src.Subscribe()
	defer cancel()
	for _, f := range src.List() {
		n.known[f.Name] = true
	}
	var timer clock.Timer
	var timerC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case e, ok := <-ev:
			if !ok {
				ev = nil
				continue
			}
			n.event(e)
		case r := <-n.reach:
			n.reachability(r)
		case <-timerC:
			timer, timerC = nil, nil
		}
		n.flush()
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
		if at, ok := n.nextFlush(); ok {
			timer = n.clk.NewTimer(at.Sub(n.clk.Now()))
			timerC = timer.C()
		}
	}
}

func (n *Notifier) event(e api.Event) {
	switch {
	case e.Type == "conflict" && e.Conflict != nil:
		c := e.Conflict
		n.notify(key{KindConflict, e.Folder}, c.Path, &fyne.Notification{
			Title: "Conflict in " + e.Folder,
			Content: fmt.Sprintf("%s changed here and on another device. Both versions are kept (the other one as %s): open Conflicts to choose.",
				c.Path, base(c.Copy)),
		})
	case e.Type == "error" && e.Error != nil:
		fe := e.Error
		content := fmt.Sprintf("%s does not sync: %s", fe.Path, strings.TrimSuffix(fe.Error, "."))
		if fe.Hint != "" {
			content += ". " + fe.Hint
		}
		n.notify(key{KindError, e.Folder}, fe.Path, &fyne.Notification{Title: "A file in " + e.Folder + " does not sync", Content: content})
	case e.Type == "removed":
		n.known[e.Folder] = true // gone; never announce it
	case e.Status != nil:
		s := e.Status
		if n.known[s.Name] {
			return
		}
		if s.State == api.UpToDate {
			n.known[s.Name] = true
			n.notify(key{KindSynced, s.Name}, s.Name, &fyne.Notification{
				Title:   s.Name + " is synced",
				Content: fmt.Sprintf("The first sync of %s (%s) finished: %s, %s, on the grid and in step.", s.Name, s.Path, plural(s.Files, "file"), ui.Bytes(s.Bytes)),
			})
		}
	}
}

// reachability notifies a change of the verdict.
func (n *Notifier) reachability(r nat.Report) {
	v := r.Verdict
	if v == "" || v == nat.VerdictUnknown || v == n.lastReach {
		return
	}
	old := n.lastReach
	n.lastReach = v
	n.mu.Lock()
	n.verdict = v
	n.mu.Unlock()
	if old == "" {
		return // the baseline
	}
	content := fmt.Sprintf("Other computers: %s (it was %s).", reachWords(v), old)
	if len(r.Advice) > 0 && r.Advice[0].Text != "" {
		content += " " + r.Advice[0].Text
	}
	n.notify(key{KindReach, ""}, string(v), &fyne.Notification{Title: "Reachability changed: " + string(v), Content: content})
}

func reachWords(v nat.Verdict) string {
	switch {
	case v == nat.VerdictOffline:
		return "this computer is offline; nothing syncs until it is back"
	case v.Reachable():
		return "they can connect to this computer (" + string(v) + ")"
	}
	return "they cannot connect to this computer (" + string(v) + "); it still syncs through connections it opens"
}

// notify sends nt now, or holds it back for the bucket's next summary.
func (n *Notifier) notify(k key, name string, nt *fyne.Notification) {
	now := n.clk.Now()
	b := n.buckets[k]
	if b == nil || (!now.Before(b.until) && b.more == 0) {
		n.buckets[k] = &bucket{until: now.Add(n.every)}
		n.deliver(nt)
		return
	}
	b.more++
	b.last = nt
	if len(b.named) < maxNamed {
		b.named = append(b.named, name)
	}
}

// flush sends the summaries whose minute is over and forgets the
// buckets that have nothing held back.
func (n *Notifier) flush() {
	now := n.clk.Now()
	for k, b := range n.buckets {
		if now.Before(b.until) {
			continue
		}
		if b.more == 0 {
			delete(n.buckets, k)
			continue
		}
		n.deliver(summary(k, b))
		*b = bucket{until: now.Add(n.every)}
	}
}

func (n *Notifier) nextFlush() (time.Time, bool) {
	var at time.Time
	for _, b := range n.buckets {
		if b.more > 0 && (at.IsZero() || b.until.Before(at)) {
			at = b.until
		}
	}
	return at, !at.IsZero()
}

// summary is the one notification for what a bucket held back.
func summary(k key, b *bucket) *fyne.Notification {
	if b.more == 1 {
		return b.last
	}
	names := strings.Join(b.named, ", ")
	if b.more > len(b.named) {
		names += fmt.Sprintf(" and %d more", b.more-len(b.named))
	}
	switch k.kind {
	case KindConflict:
		return &fyne.Notification{Title: fmt.Sprintf("%d more conflicts in %s", b.more, k.folder),
			Content: "Changed here and on another device: " + names + ". Both versions of each are kept: open Conflicts to choose."}
	case KindError:
		return &fyne.Notification{Title: fmt.Sprintf("%d more files in %s do not sync", b.more, k.folder),
			Content: names + ". The status window says why and what to do for each."}
	case KindReach:
		nt := *b.last
		nt.Content += fmt.Sprintf(" (It changed %d times in the last minutes.)", b.more)
		return &nt
	}
	return b.last
}

// deliver sends one notification, caps scrubbed.
func (n *Notifier) deliver(nt *fyne.Notification) {
	out := &fyne.Notification{Title: clip(Scrub(nt.Title), maxTitle), Content: clip(Scrub(nt.Content), maxContent)}
	n.mu.Lock()
	n.sent++
	n.mu.Unlock()
	n.log.Info("notification", "title", out.Title)
	if n.send != nil {
		n.send(out)
	}
}

// Bounds on a notification's text (an engine message can be long;
// desktops show a few lines).
const (
	maxTitle   = 120
	maxContent = 400
)

// clip shortens s to at most n runes, ending with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var secretRE = regexp.MustCompile(`URI:[A-Za-z0-9-]+:[^\s"'<>()\[\],;]*|pb://[^\s"'<>()\[\],;]*`)

// Scrub replaces what looks like a Tahoe cap or a FURL in s.
func Scrub(s string) string {
	return secretRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "pb://") {
			return "pb://(hidden)"
		}
		return "URI:(hidden)"
	})
}

func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
