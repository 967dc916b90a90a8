package conflicts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
)

// Backend is what the window needs of the folder sync: the folders (and
// the conflicts the engine recorded), a file's versions on the grid (to
// know whether a version about to be removed is kept there), and the
// events that say something changed.
type Backend interface {
	List() []api.FolderStatus
	History(ctx context.Context, folder, path string) ([]api.Version, error)
	Subscribe() (events <-chan api.Event, cancel func())
}

// *syncer.Manager is a Backend as it is.
var _ Backend = (*syncer.Manager)(nil)

// Options are the window's settings.
type Options struct {
	// Device is this computer's device ID (syncer.Config.Device).
	Device string
	// KeepDir is where a version that is not on the grid yet is moved
	// before Keep mine or Keep theirs would remove it ("": such a choice
	// is refused with a message).
	KeepDir string
	// Now is the clock for "when" (nil: time.Now).
	Now func() time.Time
}

// Texts, shared with tests.
const (
	Title      = "Conflicts"
	NoneLeft   = "No conflicts: every folder has one version of each file."
	Explain    = "A conflict copy is made when a file changed here and on another device before they synced. Nothing is lost until you choose; each choice keeps the other version recoverable."
	MineLabel  = "Keep mine"
	TheirLabel = "Keep theirs"
	BothLabel  = "Keep both"
	ReloadText = "Look again"
)

// statusEvery bounds how often status events make the window look at the
// folders again (each look walks the folders on disk).
const statusEvery = 2 * time.Second

// Row is one conflict as the window shows it.
type Row struct {
	Copy   Copy
	Lines  []string // the text shown, line by line
	Mine   *widget.Button
	Theirs *widget.Button
	Both   *widget.Button
	card   fyne.CanvasObject // the row's card, once shown
}

// key is what the row shows: a row with the same key need not change.
func (r *Row) key() string {
	return r.Copy.Folder + "\x00" + r.Copy.Copy + "\x00" + strings.Join(r.Lines, "\n")
}

// Window is the Conflicts window.
type Window struct {
	fyne.Window
	Status *widget.Label // what the last choice did, or why it failed
	Reload *widget.Button

	b      Backend
	res    *Resolver
	now    func() time.Time
	list   *fyne.Container
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	busy   sync.WaitGroup // choices being carried out

	widgets ui.Serial // the window's widget changes, one at a time

	mu      sync.Mutex // guards rows, scanned, status
	rows    []*Row
	scanned int // completed looks, for tests
	status  string

	problems []string // the folders that could not be looked through, as shown; follow's goroutine only
}

// Show opens the Conflicts window.
func Show(a fyne.App, b Backend, o Options) *Window {
	w := New(a, b, o)
	w.Show()
	return w
}

// New makes the Conflicts window without showing it. It follows the
// folder sync's events until the window is closed.
func New(a fyne.App, b Backend, o Options) *Window {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{
		Window: a.NewWindow(Title), b: b, now: now,
		res:  &Resolver{Device: o.Device, KeepDir: o.KeepDir, Grid: b, Now: now},
		list: container.NewVBox(), kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	w.Status = widget.NewLabel("")
	w.Status.Wrapping = fyne.TextWrapWord
	w.Reload = widget.NewButton(ReloadText, w.Kick)
	explain := widget.NewLabel(Explain)
	explain.Wrapping = fyne.TextWrapWord
	top := container.NewVBox(explain, container.NewHBox(w.Reload), w.Status, widget.NewSeparator())
	w.SetContent(container.NewBorder(top, nil, nil, nil, container.NewVScroll(w.list)))
	w.Resize(fyne.NewSize(720, 480))
	w.SetOnClosed(w.stop)
	ev, unsub := b.Subscribe()
	go func() {
		defer close(w.done)
		defer unsub()
		w.follow(ev)
	}()
	w.Kick()
	return w
}

// Close closes the window and stops following events.
func (w *Window) Close() {
	w.Window.Close()
	w.stop()
}

func (w *Window) stop() {
	w.cancel()
	<-w.done
	w.busy.Wait()
}

// Kick makes the window look at the folders again; from any goroutine.
func (w *Window) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// do runs fn on the UI thread, one change at a time.
func (w *Window) do(fn func()) { w.widgets.Do(fn) }

// StatusText is what the status line says now.
func (w *Window) StatusText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Rows is what the window lists now.
func (w *Window) Rows() []Row {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Row, len(w.rows))
	for i, r := range w.rows {
		out[i] = *r
	}
	return out
}

// Looks counts the completed looks at the folders (tests wait on it).
func (w *Window) Looks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scanned
}

// follow is the window's one goroutine: it looks at the folders when
// kicked, at once on a conflict event, and at most every statusEvery on
// status events (a copy removed in the folder shows as the engine's next
// status).
func (w *Window) follow(ev <-chan api.Event) {
	throttle := time.NewTimer(time.Hour)
	throttle.Stop()
	pending := false
	var last time.Time
	for {
		select {
		case <-w.ctx.Done():
			throttle.Stop()
			return
		case e, ok := <-ev:
			if !ok {
				ev = nil
				continue
			}
			if e.Type != "conflict" && e.Type != "removed" {
				if wait := statusEvery - time.Since(last); wait > 0 {
					if !pending {
						pending = true
						throttle.Reset(wait)
					}
					continue
				}
			}
		case <-throttle.C:
			pending = false
		case <-w.kick:
		}
		last = time.Now()
		w.look()
	}
}

// view is one conflict with what is known of both files.
type view struct {
	c          Copy
	orig, copy fileFacts
	mine       bool // the copy holds this computer's version
}

type fileFacts struct {
	exists bool
	size   int64
	mtime  time.Time
}

func facts(p string) fileFacts {
	fi, ok, err := stat(p)
	if err != nil || !ok {
		return fileFacts{}
	}
	return fileFacts{exists: true, size: fi.Size(), mtime: fi.ModTime()}
}

// look finds every folder's conflict copies and shows them.
func (w *Window) look() {
	var views []view
	var problems []string
	for _, f := range w.b.List() {
		cs, err := Find(f.Name, f.Path, f.Conflicts)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Could not look through %s (%s): %v", f.Name, f.Path, err))
			continue
		}
		for _, c := range cs {
			views = append(views, view{c: c, orig: facts(c.disk(c.Path)), copy: facts(c.disk(c.Copy)), mine: c.Mine(w.res.Device)})
		}
	}
	now := w.now()
	w.mu.Lock()
	old := map[string]*Row{}
	for _, r := range w.rows {
		old[r.key()] = r
	}
	w.mu.Unlock()
	// A conflict shown already, saying the same, keeps its card and
	// buttons (a choice may be under way on them); only a list that
	// changed is laid out again.
	rows := make([]*Row, 0, len(views))
	same := len(views) == len(old) && slices.Equal(problems, w.problems)
	for _, v := range views {
		r := &Row{Copy: v.c, Lines: lines(v, now)}
		if o := old[r.key()]; o != nil {
			r = o
		} else {
			r = w.row(v, now)
			same = false
		}
		rows = append(rows, r)
	}
	if !same || w.scanned == 0 {
		w.problems = problems
		w.do(func() {
			objs := make([]fyne.CanvasObject, 0, len(rows)+1)
			if len(rows) == 0 {
				objs = append(objs, widget.NewLabel(NoneLeft))
			}
			for _, p := range problems {
				l := widget.NewLabel(p)
				l.Wrapping = fyne.TextWrapWord
				objs = append(objs, l)
			}
			for _, r := range rows {
				if r.card == nil {
					r.card = card(r)
				}
				objs = append(objs, r.card)
			}
			w.list.Objects = objs
			w.list.Refresh()
		})
	}
	w.mu.Lock()
	w.rows = rows
	w.scanned++
	w.mu.Unlock()
}

// lines is what a conflict's card says (testable without widgets).
func lines(v view, now time.Time) []string {
	c := v.c
	who := c.Device
	if v.mine {
		who += " (this computer)"
	}
	out := []string{
		c.Folder + ": " + c.Path,
		fmt.Sprintf("Conflict copy %s, made %s on %s", c.Copy, ui.When(c.Time, now), who),
	}
	origDesc := describe(c.Path, v.orig, now)
	copyDesc := describe(c.Copy, v.copy, now)
	if v.mine {
		out = append(out, "Mine: "+copyDesc, "Theirs: "+origDesc)
	} else {
		out = append(out, "Mine: "+origDesc, "Theirs: "+copyDesc+", from "+c.Device)
	}
	return out
}

func describe(p string, f fileFacts, now time.Time) string {
	if !f.exists {
		return p + " (not there: deleted)"
	}
	return fmt.Sprintf("%s (%s, modified %s)", p, ui.Bytes(f.size), ui.When(f.mtime, now))
}

func (w *Window) row(v view, now time.Time) *Row {
	r := &Row{Copy: v.c, Lines: lines(v, now)}
	r.Mine = widget.NewButton(MineLabel, nil)
	r.Theirs = widget.NewButton(TheirLabel, nil)
	r.Both = widget.NewButton(BothLabel, nil)
	r.Mine.OnTapped = func() { w.choose(r, KeepMine) }
	r.Theirs.OnTapped = func() { w.choose(r, KeepTheirs) }
	r.Both.OnTapped = func() { w.choose(r, KeepBoth) }
	return r
}

func card(r *Row) fyne.CanvasObject {
	objs := []fyne.CanvasObject{widget.NewLabelWithStyle(r.Lines[0], fyne.TextAlignLeading, fyne.TextStyle{Bold: true})}
	for _, l := range r.Lines[1:] {
		lb := widget.NewLabel(l)
		lb.Wrapping = fyne.TextWrapWord
		objs = append(objs, lb)
	}
	objs = append(objs, container.NewHBox(r.Mine, r.Theirs, r.Both), widget.NewSeparator())
	return container.NewVBox(objs...)
}

// choose carries out a choice off the UI thread, then says what it did
// and looks again.
func (w *Window) choose(r *Row, ch Choice) {
	w.widgets.Lock()
	for _, b := range []*widget.Button{r.Mine, r.Theirs, r.Both} {
		b.Disable()
	}
	w.widgets.Unlock()
	w.busy.Add(1)
	go func() {
		defer w.busy.Done()
		res, err := w.res.Resolve(w.ctx, r.Copy, ch)
		msg := res.Message
		if err != nil {
			msg = fmt.Sprintf("%s: %s not done: %v", r.Copy.Path, ch, err)
		}
		w.do(func() {
			w.Status.SetText(msg)
			if err != nil {
				for _, b := range []*widget.Button{r.Mine, r.Theirs, r.Both} {
					b.Enable()
				}
			}
			w.mu.Lock()
			w.status = msg // last: once a test sees it, the buttons are as they will stay
			w.mu.Unlock()
		})
		w.Kick()
	}()
}
