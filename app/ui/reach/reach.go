package reach

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/nat"
)

// Source is the node as this window sees it.
type Source interface {
	// Report is the node's latest reachability report.
	Report() nat.Report
	// Grid is what the node has of the grid now.
	Grid() Grid
	// Check measures reachability again now (it asks connected peers to
	// connect back: seconds to a minute) and returns the new report.
	Check(ctx context.Context) nat.Report
	// Apply makes the tahoe.cfg change of the advice with this ID in the
	// node's current report and returns that advice; on error tahoe.cfg
	// is as it was (nat.Apply's contract).
	Apply(id string) (nat.Advice, error)
}

// Grid is the grid as the node sees it.
type Grid struct {
	// Connected counts the storage servers the node can use now; Known
	// those it knows of, connected or not.
	Connected, Known int
	// K, Happy and N are the client's shares.needed, shares.happy and
	// shares.total; Happy 0 means the node does not upload (no client).
	K, Happy, N int
	// Helper is the upload helper in use ("" when uploads go directly).
	Helper string
	// Relays are the relays connections go through now.
	Relays []string
}

// Options tune the window; the zero value is what the tray uses.
type Options struct {
	// Restart restarts the node, so that applied changes take effect.
	// Nil: the window says how to restart instead of offering a button.
	Restart func() error
	// Go runs work off the UI goroutine (nil: a new goroutine). Tests make
	// it synchronous.
	Go func(func())
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Every is how often an open window reads the node again (0: every
	// 2 s; negative: never), besides at once when a Notifier source says
	// the verdict changed. The storage servers connected change without
	// a reachability event.
	Every time.Duration
}

// Notifier is a Source that says when its verdict or announced addresses
// change: an open window then shows the new report at once.
type Notifier interface {
	// Changed returns a channel closed at the next change (nil: none
	// expected now, e.g. while the node restarts).
	Changed() <-chan struct{}
}

// Live-update bounds: how often an open window looks at the node by
// default, and the least time between two updates it shows (a burst of
// changes is one update).
const (
	pollEvery = 2 * time.Second
	minGap    = 250 * time.Millisecond
)

// Texts, shared with tests.
const (
	Title        = "Reachability and grid"
	CheckAgain   = "Check again"
	ApplyLabel   = "Apply"
	RestartLabel = "Restart node now"
	Loading      = "Reading the node's reachability…"
	Checking     = "Checking again: asking the connected nodes to connect back to this one (up to a minute)…"
	// RestartHint is what to do for an applied change when the window
	// cannot restart the node itself.
	RestartHint = "The node uses the new setting after a restart: quit LAFS Sync from the tray menu and start it again."
)

// Headline is a verdict in plain words: what it means for the user.
func Headline(v nat.Verdict) string {
	switch v {
	case nat.VerdictPublic:
		return "Other nodes can connect to this computer directly."
	case nat.VerdictMapped:
		return "Other nodes can connect to this computer through a port your router opened for it (UPnP / NAT-PMP)."
	case nat.VerdictForwarded:
		return "Other nodes can connect to this computer through a port forward on your router."
	case nat.VerdictNAT:
		return "Other nodes cannot connect to this computer: it is behind a router (NAT) or a firewall. " +
			"It still uploads and downloads by connecting out."
	case nat.VerdictCGNAT:
		return "Other nodes cannot connect to this computer: it is behind two NATs or your internet provider's shared " +
			"(carrier-grade) NAT. It still uploads and downloads by connecting out."
	case nat.VerdictOffline:
		return "This computer is not connected to any other node of the grid, so nothing can be checked."
	}
	return "Not known yet: no other node could check this one."
}

// GridLines are the window's lines about the grid.
func GridLines(g Grid) []string {
	var lines []string
	if g.Known == 0 && g.Connected == 0 {
		lines = append(lines, "Storage servers: none known yet.")
	} else {
		lines = append(lines, fmt.Sprintf("Storage servers: %d of %d connected.", g.Connected, max(g.Known, g.Connected)))
	}
	switch {
	case g.Happy == 0:
		lines = append(lines, "This node does not upload (it runs no client).")
	case g.Connected >= g.Happy:
		lines = append(lines, fmt.Sprintf("Uploads can be placed: they need %d different storage servers (servers of happiness) and %d are connected.",
			g.Happy, g.Connected))
	default:
		lines = append(lines, fmt.Sprintf("Uploads cannot be placed now: they need %d different storage servers (servers of happiness) and only %d are connected.",
			g.Happy, g.Connected))
	}
	if g.Happy > 0 && g.K > 0 && g.N > 0 {
		lines = append(lines, fmt.Sprintf("Encoding: any %d of %d shares rebuild a file.", g.K, g.N))
	}
	if g.Helper == "" {
		lines = append(lines, "Upload helper: none; uploads go to the storage servers directly.")
	} else {
		lines = append(lines, "Upload helper: "+short(g.Helper)+"; uploads go through it.")
	}
	if len(g.Relays) == 0 {
		lines = append(lines, "Relay: none in use.")
	} else {
		rs := make([]string, len(g.Relays))
		for i, r := range g.Relays {
			rs[i] = short(r)
		}
		lines = append(lines, "Relay: "+strings.Join(rs, ", ")+"; connections that cannot be direct go through it.")
	}
	return lines
}

// AppliedText is what the window says after advice a was applied.
func AppliedText(a nat.Advice, canRestart bool) string {
	var cs []string
	for _, s := range a.Changes {
		cs = append(cs, s.String())
	}
	t := "Done: tahoe.cfg now has " + strings.Join(cs, ", ") + ". The old file is kept as " + config.BackupFile + ". "
	if canRestart {
		return t + "The node uses the new setting after a restart."
	}
	return t + RestartHint
}

// FailedText is what the window says when advice id could not be
// applied.
func FailedText(id string, err error) string {
	return fmt.Sprintf("Could not apply %q: %v. tahoe.cfg was left as it was.", id, err)
}

// Window is the Reachability / Grid window.
type Window struct {
	fyne.Window
	src Source
	opt Options
	ctx context.Context // ends when the window closes
	end context.CancelFunc

	// The widgets below and results are used on the UI goroutine only.
	verdict  *widget.Label
	headline *widget.Label
	checked  *widget.Label
	announce *widget.Label
	evidence *fyne.Container
	grid     *fyne.Container
	advice   *fyne.Container
	status   *widget.Label
	check    *widget.Button
	results  map[string]outcome // advice ID → what Apply did
	restart  *widget.Button
	cards    map[string]card // advice ID → its card as shown now
	advKey   string          // the advice the cards are of

	// widgets serialises the live updates' widget changes (fyne's test
	// driver runs fyne.Do on the caller's goroutine); seq counts the
	// reports shown by Check again, so that a live read begun before one
	// never replaces it.
	widgets ui.Serial
	seq     atomic.Int64
	done    chan struct{} // closed when the live updates stopped
	closing sync.Once
}

// card is one advice's widgets that change.
type card struct {
	apply  *widget.Button
	result *widget.Label
}

// New builds the window and starts reading the node; Show it.
func New(a fyne.App, s Source, o Options) *Window {
	if o.Go == nil {
		o.Go = func(f func()) { go f() }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, end := context.WithCancel(context.Background())
	w := &Window{Window: a.NewWindow(Title), src: s, opt: o, ctx: ctx, end: end,
		results: map[string]outcome{}, cards: map[string]card{}, done: make(chan struct{})}
	w.SetIcon(ui.Icon)
	bold := fyne.TextStyle{Bold: true}
	w.verdict = widget.NewLabelWithStyle(Loading, fyne.TextAlignLeading, bold)
	w.headline = wrapped("")
	w.checked = wrapped("")
	w.announce = wrapped("")
	w.evidence = container.NewVBox()
	w.grid = container.NewVBox()
	w.advice = container.NewVBox()
	w.status = wrapped("")
	w.check = widget.NewButton(CheckAgain, w.checkAgain)
	w.restart = widget.NewButton(RestartLabel, w.restartNode)
	w.restart.Hide()
	body := container.NewVBox(
		w.verdict, w.headline, w.checked, w.announce,
		widget.NewLabelWithStyle("Why", fyne.TextAlignLeading, bold), w.evidence,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Grid", fyne.TextAlignLeading, bold), w.grid,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("What you can do", fyne.TextAlignLeading, bold), w.advice,
	)
	bottom := container.NewVBox(widget.NewSeparator(), w.status, container.NewHBox(w.check, w.restart))
	w.SetContent(container.NewBorder(nil, bottom, nil, nil, container.NewVScroll(body)))
	w.Resize(fyne.NewSize(640, 560))
	w.SetOnClosed(end)
	w.check.Disable()
	w.opt.Go(func() {
		r, g := s.Report(), s.Grid()
		fyne.Do(func() { w.show(r, g); w.check.Enable() })
	})
	go func() {
		defer close(w.done)
		w.follow()
	}()
	return w
}

// follow keeps the window up to date until it closes: it reads the node
// off the UI goroutine when the source says the verdict changed and every
// Options.Every, and changes the window only when what it read differs
// from the last read, at most once per minGap.
func (w *Window) follow() {
	every := w.opt.Every
	if every == 0 {
		every = pollEvery
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	n, _ := w.src.(Notifier)
	last := ""
	var changed <-chan struct{}
	if n != nil {
		changed = n.Changed()
	}
	// One read at once, after the first channel is taken: a change that
	// came between the window's first read (New) and this goroutine's start
	// would otherwise wait for the next change or tick, forever without
	// polling (Every < 0).
	now := make(chan struct{})
	close(now)
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-now:
			now = nil
		case <-changed:
		case <-tick:
		}
		// The next change's channel is taken before the read, so that a
		// change during the read or the gap below is not missed.
		if n != nil {
			changed = n.Changed()
		}
		seq := w.seq.Load()
		r, g := w.src.Report(), w.src.Grid()
		if k := fmt.Sprintf("%+v|%+v", r, g); k != last {
			last = k
			w.widgets.Do(func() {
				if w.seq.Load() == seq && w.ctx.Err() == nil {
					w.show(r, g)
				}
			})
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(minGap):
		}
	}
}

// Close closes the window and waits for its live updates to stop.
// A second Close does nothing.
func (w *Window) Close() {
	w.closing.Do(func() {
		w.Window.Close()
		w.end()
	})
	<-w.done
}

// Show builds the window and shows it.
func Show(a fyne.App, s Source, o Options) *Window {
	w := New(a, s, o)
	w.Show()
	return w
}

// show puts a report and the grid in the window; on the UI goroutine.
func (w *Window) show(r nat.Report, g Grid) {
	setText(w.verdict, "Reachability: "+string(r.Verdict))
	setText(w.headline, Headline(r.Verdict))
	if r.CheckedAt.IsZero() {
		setText(w.checked, "Not checked yet.")
	} else {
		setText(w.checked, "Checked "+ui.When(r.CheckedAt, w.opt.Now())+".")
	}
	switch {
	case len(r.Announce) == 0:
		setText(w.announce, "Announces: no address (outbound-only: it connects out, and others use its connections).")
	case r.Provisional:
		setText(w.announce, "Announces: "+strings.Join(r.Announce, ", ")+" (from tub.location; no peer has confirmed it yet).")
	default:
		setText(w.announce, "Announces: "+strings.Join(r.Announce, ", ")+".")
	}
	var ev []string
	for _, e := range r.Evidence {
		ev = append(ev, "• "+e)
	}
	if len(r.Evidence) == 0 {
		ev = append(ev, "No facts recorded yet.")
	}
	setLines(w.evidence, ev)
	setLines(w.grid, GridLines(g))
	// The advice cards are built again only when the advice changed: a
	// live update of the same report leaves their buttons as they are.
	key := fmt.Sprintf("%+v", r.Advice)
	if key == w.advKey && len(w.advice.Objects) > 0 {
		return
	}
	w.advKey = key
	w.advice.Objects = nil
	clear(w.cards)
	for _, a := range r.Advice {
		w.advice.Add(w.adviceCard(a))
	}
	if len(r.Advice) == 0 {
		w.advice.Add(wrapped("Nothing: no change would help this node now."))
	}
	w.advice.Refresh()
}

// setLines makes box, a column of labels, say lines: the labels there get
// the new texts, and labels are added or taken away only at the end.
func setLines(box *fyne.Container, lines []string) {
	n := len(box.Objects)
	for i, l := range lines {
		if i < n {
			setText(box.Objects[i].(*widget.Label), l)
			continue
		}
		box.Add(wrapped(l))
	}
	if len(lines) < n {
		box.Objects = box.Objects[:len(lines)]
		box.Refresh()
	}
}

// setText changes l's text only when it differs (SetText refreshes).
func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

func (w *Window) adviceCard(a nat.Advice) fyne.CanvasObject {
	var cs []string
	for _, s := range a.Changes {
		cs = append(cs, s.String())
	}
	result := wrapped(w.results[a.ID].text)
	b := widget.NewButton(ApplyLabel, nil)
	w.cards[a.ID] = card{b, result}
	if w.results[a.ID].ok {
		b.Disable() // applied already; the report changes after the restart
	}
	id := a.ID
	b.OnTapped = func() {
		b.Disable()
		result.SetText("Applying…")
		w.opt.Go(func() {
			got, err := w.src.Apply(id)
			fyne.Do(func() {
				c := w.cards[id] // the card shown now (Check again may have rebuilt it)
				if err != nil {
					w.results[id] = outcome{text: FailedText(id, err)}
					if c.apply != nil {
						c.apply.Enable()
					}
				} else {
					w.results[id] = outcome{text: AppliedText(got, w.opt.Restart != nil), ok: true}
					if w.opt.Restart != nil {
						w.restart.Show()
					}
				}
				if c.result != nil {
					c.result.SetText(w.results[id].text)
				}
				if c.apply != nil && w.results[id].ok {
					c.apply.Disable()
				}
			})
		})
	}
	return container.NewVBox(
		wrapped(a.Text),
		wrapped("Changes tahoe.cfg: "+strings.Join(cs, ", ")+" (same as: "+a.Command+")"),
		container.NewHBox(b), result, widget.NewSeparator())
}

// outcome is what applying one advice did.
type outcome struct {
	text string
	ok   bool
}

// checkAgain re-runs detection off the UI goroutine.
func (w *Window) checkAgain() {
	w.seq.Add(1) // a live read begun before this check is not shown after it
	w.check.Disable()
	w.status.SetText(Checking)
	w.opt.Go(func() {
		r := w.src.Check(w.ctx)
		g := w.src.Grid()
		w.seq.Add(1)
		fyne.Do(func() {
			w.show(r, g)
			w.status.SetText("Checked again: " + r.Summary())
			w.check.Enable()
		})
	})
}

// restartNode runs Options.Restart off the UI goroutine.
func (w *Window) restartNode() {
	w.restart.Disable()
	w.status.SetText("Restarting the node…")
	w.opt.Go(func() {
		err := w.opt.Restart()
		fyne.Do(func() {
			if err != nil {
				w.status.SetText(fmt.Sprintf("The node could not be restarted: %v. Quit LAFS Sync and start it again.", err))
				w.restart.Enable()
				return
			}
			w.status.SetText("The node is restarting with the new settings. Check again in a minute to see the new verdict.")
			w.restart.Hide()
		})
	})
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// short abbreviates a node ID (node IDs are public, only long).
func short(id string) string {
	if len(id) > 11 {
		return id[:11] + "…"
	}
	return id
}
