package share

import (
	"context"
	"errors"
	"image"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
	"github.com/skip2/go-qrcode"

	"github.com/lafssync/lafssync/app/shares"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/syncer/api"
)

// Texts of the window, shared with the tests so they cannot drift apart.
const (
	Title         = "Share"
	AboutReadCap  = "A read-cap is read-only: whoever has it sees every file in this folder, including every change you make later, but cannot change anything. It does not expire and cannot be taken back, and whoever has it can pass it on: give it only to people you would trust with the folder for good."
	AboutSnapshot = "A frozen snapshot is an immutable copy of the folder as it is now: your later changes are not in it. Like a read-cap it is read-only, does not expire and cannot be taken back."
	NoFolders     = "No folders to share yet: add one first (lafs sync add DIR). You can still follow a friend's folder."
	FollowTip     = "Paste a friend's read-cap (URI:DIR2-RO:… or URI:DIR2-MDMF-RO:…) or type the invite code they gave you, and choose where the folder goes on this computer. It is read-only here: changes you make in it are not uploaded."
	NobodyYet     = "No one yet. Type a name in “For whom” when you copy the read-cap or send an invite, to keep track here (on this computer only)."
	NeedPath      = "Choose where the friend's folder goes on this computer: a full path, like /home/you/FromAlice."
	// LocalGridWarning is what the window says, instead of making a code,
	// when the folder's grid exists only on this computer.
	LocalGridWarning  = "This folder is on this computer's own local grid: it exists only on this computer, so a friend on another computer could not use an invite code (nor the read-cap): their device cannot reach the grid. Join a grid that other computers can reach first (the first-run setup, or lafs join CODE with a code from a device on that grid), then share. Make the code anyway only for another device on this computer."
	InviteAnywayLabel = "Make the code anyway"
	// LocalGridCapWarning is shown with a cap (and its QR code) when the
	// folder's grid exists only on this computer; Copy still works.
	LocalGridCapWarning = "Only for this computer: this folder is on this computer's own local grid, which runs only here. A friend on another computer who gets this cap (copied or scanned) cannot open the folder: their device cannot reach the grid. To share with someone else, join a grid that other computers can reach first (the first-run setup, or lafs join CODE with a code from a device on that grid), then share again. Copying it is fine for another device on this computer."
	// LocalGridCopied is added to what Copy says on the local grid.
	LocalGridCopied = "It works only on this computer: the folder is on this computer's local grid, which a friend's device cannot reach. Join a grid that other computers can reach, then share again."
	InviteWaiting   = "Give this code to your friend (read it out, or send it). They type it into “Follow a friend's folder” in LAFS Sync, or run lafs join CODE. It works once, for 10 minutes."
)

// Bounds on what the window waits for.
const (
	shareTimeout  = 2 * time.Minute // a snapshot reads the whole folder
	inviteTimeout = 10 * time.Minute
	followTimeout = 2 * time.Minute
	qrPixels      = 256
)

// Window is the Share window. Its widgets are exported for tests.
type Window struct {
	fyne.Window

	// The folder to share and its cap.
	Folder   *widget.Select // shown with more than one folder
	Name     *widget.Label  // the folder shared
	CapKind  *widget.Label  // "Read-cap (live, read-only)" or "Frozen snapshot, made 14:03"
	Cap      *widget.Label  // the cap, selectable
	Copy     *widget.Button
	QR       *canvas.Image
	About    *widget.Label
	Snapshot *widget.Button // share a frozen snapshot instead
	Live     *widget.Button // back to the read-cap
	Whom     *widget.Entry  // whom it is for (optional), for the shared-with list
	Status   *widget.Label
	// LocalGrid is LocalGridCapWarning, shown with the cap when the grid
	// exists only on this computer.
	LocalGrid *widget.Label

	// Sending the read-cap with an invite code.
	Invite       *widget.Button
	Code         *widget.Label
	CopyCode     *widget.Button
	CancelInvite *widget.Button
	InviteStatus *widget.Label
	// InviteAnyway confirms an invite to the local grid; shown only after
	// LocalGridWarning.
	InviteAnyway *widget.Button

	SharedWith *widget.Label

	// Following a friend's folder.
	FollowIn     *widget.Entry // a read-cap or an invite code
	FollowPath   *widget.Entry // where it goes
	Follow       *widget.Button
	FollowStatus *widget.Label

	app   fyne.App
	b     Backend
	store *shares.Store
	ctx   context.Context // ends when the window closes
	stop  context.CancelFunc

	// mu serialises the window's own UI code (handlers and the updates
	// its goroutines post with fyne.Do) and guards the fields below. fyne
	// runs both on one goroutine, so it is never contended there; fyne's
	// test driver runs fyne.Do on the caller's goroutine, and the lock
	// keeps the tests honest. Widget callbacks that fire from inside a
	// locked section must not take it again (see setFolders).
	mu           sync.Mutex
	boxes        []*fyne.Container // laid out again after each change: shown and hidden widgets move the rest
	folders      []api.FolderStatus
	folder       string // the folder shown ("" before the list is loaded)
	kind         string // api.ShareRead or api.ShareSnapshot
	cap          string // the cap shown ("" while it is fetched)
	localGrid    bool   // the cap shown is on a grid on this computer only
	gen          int    // the cap request in flight: an answer to an older one is dropped
	fetching     bool   // a cap request is in flight
	listGen      int    // the shared-with read shown last: an older one's answer is dropped
	code         string
	cancelInvite context.CancelFunc // nil when no invite runs
}

// Show builds the Share window for the folder named folder ("" : the
// first one) and shows it. store keeps whom folders were shared with
// (nil: no list). Call it on the UI goroutine (a menu action).
func Show(a fyne.App, b Backend, store *shares.Store, folder string) *Window {
	w := New(a, b, store, folder)
	w.Show()
	return w
}

// New builds the window without showing it. It loads the folder list and
// the cap in the background; closing the window cancels whatever it
// still waits for (an invite code stops working).
func New(a fyne.App, b Backend, store *shares.Store, folder string) *Window {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{Window: a.NewWindow(Title), app: a, b: b, store: store, ctx: ctx, stop: cancel, kind: api.ShareRead}
	w.SetIcon(ui.Icon)
	w.SetOnClosed(w.locked(func() {
		if w.cancelInvite != nil {
			w.cancelInvite()
		}
		cancel()
	}))

	w.Folder = widget.NewSelect(nil, w.folderChanged)
	w.Folder.Hide()
	w.Name = widget.NewLabelWithStyle("Loading the folders…", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.CapKind = widget.NewLabel("")
	w.Cap = widget.NewLabel("")
	w.Cap.Wrapping = fyne.TextWrapBreak
	w.Cap.Selectable = true
	w.Cap.TextStyle = fyne.TextStyle{Monospace: true}
	w.Copy = widget.NewButton("Copy", w.locked(w.copyCap))
	w.Copy.Disable()
	w.QR = canvas.NewImageFromImage(nil)
	w.QR.FillMode = canvas.ImageFillContain
	w.QR.ScaleMode = canvas.ImageScalePixels
	w.QR.SetMinSize(fyne.NewSize(200, 200))
	w.QR.Hide()
	w.LocalGrid = wrapped(LocalGridCapWarning)
	w.LocalGrid.Importance = widget.WarningImportance
	w.LocalGrid.Hide()
	w.About = widget.NewLabel(AboutReadCap)
	w.About.Wrapping = fyne.TextWrapWord
	w.Snapshot = widget.NewButton("Share a frozen snapshot instead", w.locked(func() { w.show(w.folder, api.ShareSnapshot) }))
	w.Live = widget.NewButton("Back to the live read-cap", w.locked(func() { w.show(w.folder, api.ShareRead) }))
	w.Live.Hide()
	w.Whom = widget.NewEntry()
	w.Whom.SetPlaceHolder("a name, like Alice (optional; kept on this computer only)")
	w.Status = wrapped("")

	w.Invite = widget.NewButton("Send with an invite code", w.locked(func() { w.startInvite(false) }))
	w.InviteAnyway = widget.NewButton(InviteAnywayLabel, w.locked(func() { w.startInvite(true) }))
	w.InviteAnyway.Hide()
	w.Code = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	w.Code.Selectable = true
	w.Code.Hide()
	w.CopyCode = widget.NewButton("Copy code", w.locked(func() {
		w.app.Clipboard().SetContent(w.code)
	}))
	w.CopyCode.Hide()
	w.CancelInvite = widget.NewButton("Cancel the invite", w.locked(func() {
		if w.cancelInvite != nil {
			w.cancelInvite()
		}
	}))
	w.CancelInvite.Hide()
	w.InviteStatus = wrapped("")

	w.SharedWith = wrapped("")

	w.FollowIn = widget.NewMultiLineEntry()
	w.FollowIn.Wrapping = fyne.TextWrapBreak
	w.FollowIn.SetPlaceHolder("URI:DIR2-RO:… or 7-guitarist-revenge")
	w.FollowPath = widget.NewEntry()
	w.FollowPath.SetPlaceHolder("/home/you/FromAlice")
	choose := widget.NewButton("Choose…", func() {
		dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				w.FollowPath.SetText(u.Path())
			}
		}, w).Show()
	})
	w.Follow = widget.NewButton("Follow", w.locked(w.follow))
	w.FollowStatus = wrapped(FollowTip)

	capBox := container.NewBorder(nil, w.LocalGrid, w.QR, nil, container.NewVBox(w.CapKind, w.Cap, container.NewHBox(w.Copy)))
	w.boxes = []*fyne.Container{
		container.NewBorder(nil, nil, nil, w.Folder, w.Name),
		capBox,
		container.NewHBox(w.Code, w.CopyCode),
	}
	shareTab := container.NewVBox(
		w.boxes[0],
		capBox,
		w.About,
		container.NewHBox(w.Snapshot, w.Live),
		widget.NewForm(widget.NewFormItem("For whom", w.Whom)),
		w.Status,
		widget.NewSeparator(),
		container.NewHBox(w.Invite, w.CancelInvite, w.InviteAnyway),
		w.boxes[2],
		w.InviteStatus,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Shared with", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		w.SharedWith,
	)
	followTab := container.NewVBox(
		w.FollowStatus,
		widget.NewForm(
			widget.NewFormItem("Read-cap or code", w.FollowIn),
			widget.NewFormItem("Into", container.NewBorder(nil, nil, nil, choose, w.FollowPath)),
		),
		container.NewHBox(w.Follow),
	)
	w.boxes = append(w.boxes, shareTab, followTab)
	tabs := container.NewAppTabs(
		container.NewTabItem("Share a folder", container.NewVScroll(shareTab)),
		container.NewTabItem("Follow a friend's folder", container.NewVScroll(followTab)),
	)
	w.SetContent(tabs)
	w.Resize(fyne.NewSize(560, 720))
	w.loadFolders(folder)
	if sub, ok := b.(Subscriber); ok {
		ev, unsub := sub.Subscribe()
		go func() {
			defer unsub()
			w.followFolders(ev)
		}()
	}
	return w
}

// followFolders lists the folders again, off the UI goroutine, when one
// was added, removed or changed mode (the window shows names and modes;
// progress ticks change neither), until the window closes. What changed
// is judged against what the window lists now, not against a list of its
// own: one read when this goroutine started could already hold a folder
// whose event came after, which was then skipped as no change and never
// shown.
func (w *Window) followFolders(ev <-chan api.Event) {
	for {
		select {
		case <-w.ctx.Done():
			return
		case e, ok := <-ev:
			if !ok {
				return
			}
			switch {
			case e.Type == "removed":
				if _, listed := w.listedMode(e.Folder); !listed {
					continue
				}
			case e.Status != nil:
				if m, listed := w.listedMode(e.Status.Name); listed && m == e.Status.Mode && !w.awaitsCap(e.Status.Name) {
					continue
				}
			default:
				continue
			}
		}
		fs := w.b.List()
		w.do(func() {
			if w.ctx.Err() == nil {
				w.setFolders(fs, w.folder)
			}
		})
	}
}

// awaitsCap says whether the window shows folder name without its cap
// (it was still starting when asked): a reload asks again.
func (w *Window) awaitsCap(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.folder == name && w.cap == "" && !w.fetching && w.kind == api.ShareRead
}

// listedMode is the mode of the folder the window lists under name.
func (w *Window) listedMode(name string) (mode string, listed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.folderStatus(name); f != nil {
		return f.Mode, true
	}
	return "", false
}

// locked is f holding w.mu: a widget callback.
func (w *Window) locked(f func()) func() {
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		f()
		for _, b := range w.boxes {
			b.Refresh()
		}
	}
}

// Locked runs f as the window's own code runs: holding its lock, with
// the boxes laid out again after. Tests type into the window's entries
// through it: fyne's test driver runs the window's updates on their own
// goroutines, and an entry typed into while its box is laid out put a
// character out of place ("FromAlicee" for "FromAlice").
func (w *Window) Locked(f func()) { w.locked(f)() }

// do runs f on the UI goroutine holding w.mu: an update from a goroutine.
func (w *Window) do(f func()) { fyne.Do(w.locked(f)) }

func (w *Window) folderChanged(name string) {
	w.locked(func() {
		if name != w.folder {
			w.show(name, api.ShareRead)
		}
	})()
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// loadFolders reads the folder list off the UI goroutine, then shows
// want (or the first folder).
func (w *Window) loadFolders(want string) {
	go func() {
		fs := w.b.List()
		w.do(func() { w.setFolders(fs, want) })
	}()
}

func (w *Window) setFolders(fs []api.FolderStatus, want string) {
	w.folders = fs
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
		if f.Path == want {
			want = f.Name
		}
	}
	// SetSelected calls OnChanged, which would take w.mu again.
	w.Folder.OnChanged = nil
	defer func() { w.Folder.OnChanged = w.folderChanged }()
	w.Folder.SetOptions(names)
	if len(fs) > 1 {
		w.Folder.Show()
	} else {
		w.Folder.Hide()
	}
	if len(fs) == 0 {
		w.folder, w.cap = "", ""
		w.Name.SetText(NoFolders)
		w.CapKind.SetText("")
		w.Cap.SetText("")
		w.Copy.Disable()
		w.QR.Hide()
		w.LocalGrid.Hide()
		w.Snapshot.Disable()
		w.Invite.Disable()
		w.SharedWith.SetText("")
		return
	}
	if w.folder != "" && w.folderStatus(w.folder) != nil {
		// Reloaded after a follow or a change in the folder list: keep
		// what is shown, buttons included (a cap may be on its way, an
		// invite running). A cap that could not be had (the folder was
		// still starting when a live update first listed it) is asked for
		// again (not a snapshot: that reads the whole folder).
		w.Folder.SetSelected(w.folder)
		if w.cap == "" && !w.fetching && w.kind == api.ShareRead {
			w.show(w.folder, w.kind)
		}
		return
	}
	if w.cancelInvite == nil {
		w.Invite.Enable()
	}
	gone := w.folder
	if w.folderStatus(want) == nil {
		want = names[0]
	}
	w.show(want, api.ShareRead)
	w.Folder.SetSelected(want)
	if gone != "" {
		w.Status.SetText("“" + gone + "” is no longer synced on this computer; showing “" + want + "”.")
	}
}

func (w *Window) folderStatus(name string) *api.FolderStatus {
	for i := range w.folders {
		if w.folders[i].Name == name {
			return &w.folders[i]
		}
	}
	return nil
}

// show fetches folder's cap of kind off the UI goroutine and shows it.
func (w *Window) show(folder, kind string) {
	if folder == "" {
		return
	}
	w.folder, w.kind, w.cap = folder, kind, ""
	w.fetching = true
	w.gen++
	gen := w.gen
	what := "the read-cap"
	if kind == api.ShareSnapshot {
		what = "a frozen snapshot (this reads the whole folder from the grid)"
	}
	title := "Folder “" + folder + "”"
	if st := w.folderStatus(folder); st != nil && st.Mode == "follow" {
		title += " (a friend's folder you follow: you can pass on its read-cap)"
	}
	w.Name.SetText(title)
	w.CapKind.SetText("Getting " + what + "…")
	w.Cap.SetText("")
	w.Copy.Disable()
	w.QR.Hide()
	w.LocalGrid.Hide()
	w.localGrid = false
	w.Status.SetText("")
	if kind == api.ShareSnapshot {
		w.About.SetText(AboutSnapshot)
		w.Snapshot.Hide()
		w.Live.Show()
	} else {
		w.About.SetText(AboutReadCap)
		w.Live.Hide()
		w.Snapshot.Show()
	}
	w.Snapshot.Disable()
	w.Live.Disable()
	w.refreshSharedWith()
	go func() {
		ctx, cancel := context.WithTimeout(w.ctx, shareTimeout)
		defer cancel()
		c, err := w.b.Share(ctx, folder, kind)
		var img *qrImage
		local := false
		if err == nil {
			img = newQR(c)
			local = w.localGridOnly()
		}
		w.do(func() {
			if gen != w.gen {
				return // the user asked for another folder or kind meanwhile
			}
			w.fetching = false
			w.Snapshot.Enable()
			w.Live.Enable()
			if err != nil {
				w.CapKind.SetText("")
				if kind == api.ShareSnapshot {
					w.Status.SetText("No snapshot of “" + folder + "” was made: " + plain(err))
				} else {
					w.Status.SetText("Could not get the read-cap of “" + folder + "”: " + plain(err))
				}
				return
			}
			w.cap, w.localGrid = c, local
			if local {
				w.LocalGrid.Show() // with the QR code: a scan is a copy too
			}
			if img.err != nil {
				w.Status.SetText("No QR code: " + img.err.Error() + ". Copy the text instead.")
			} else {
				w.QR.Image = img.img
				w.QR.Show()
				w.QR.Refresh()
			}
			if kind == api.ShareSnapshot {
				w.CapKind.SetText("Frozen snapshot, made " + ui.When(now(), now()) + " (read-only, never changes):")
			} else {
				w.CapKind.SetText("Read-cap (read-only, follows every change):")
			}
			w.Copy.Enable()
			w.Cap.SetText(c) // last: it says the cap is ready
		})
	}()
}

// localGridOnly says whether the grid exists only on this computer; a
// grid it cannot tell about counts as not (no warning rather than a wrong
// one). Off the UI goroutine: it reads the node's configuration.
func (w *Window) localGridOnly() bool {
	t, ok := w.b.(LocalGridTeller)
	if !ok {
		return false
	}
	local, err := t.LocalGridOnly()
	return err == nil && local
}

// qrImage is a cap's QR code, or why there is none.
type qrImage struct {
	img image.Image
	err error
}

func newQR(text string) *qrImage {
	// Medium error correction survives a smudged screen or a crease; a
	// read-cap is about 100 characters, well inside one code.
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return &qrImage{err: errors.New("the cap is too long for a QR code")}
	}
	return &qrImage{img: q.Image(qrPixels)}
}

// copyCap puts the cap on the clipboard and notes whom it was for.
func (w *Window) copyCap() {
	if w.cap == "" {
		return
	}
	w.app.Clipboard().SetContent(w.cap)
	msg := "Copied the read-cap of “" + w.folder + "”. Send it privately (not in a public place): anyone who has it can read the folder."
	kind := shares.KindRead
	if w.kind == api.ShareSnapshot {
		msg = "Copied the frozen snapshot of “" + w.folder + "”. Anyone who has it can read this copy of the folder."
		kind = shares.KindSnapshot
	}
	if w.localGrid {
		msg += " " + LocalGridCopied
	}
	w.Status.SetText(msg)
	w.record(kind, w.folder, msg)
}

// record adds whom Whom names to the shared-with list (when a name was
// typed), off the UI goroutine, then shows the list; msg is the status
// the share itself gave.
func (w *Window) record(kind, folder, msg string) {
	name := strings.TrimSpace(w.Whom.Text)
	if w.store == nil || name == "" {
		return
	}
	if _, err := shares.CleanName(name); err != nil {
		w.Status.SetText(msg + " The name was not added to the list: " + err.Error() + ".")
		return
	}
	go func() {
		err := w.store.Add(shares.Entry{Folder: folder, Name: name, Kind: kind, Time: now()})
		w.do(func() {
			if err != nil {
				w.Status.SetText(msg + " The name was not added to the list: " + err.Error())
				return
			}
			w.refreshSharedWith()
		})
	}()
}

// refreshSharedWith reads the list of the folder shown off the UI goroutine.
func (w *Window) refreshSharedWith() {
	if w.store == nil {
		w.SharedWith.SetText("")
		return
	}
	folder := w.folder
	w.listGen++
	gen := w.listGen
	go func() {
		es, err := w.store.List(folder)
		w.do(func() {
			if folder != w.folder || gen != w.listGen {
				return // a later read is shown (this one may predate an entry just added)
			}
			switch {
			case err != nil:
				w.SharedWith.SetText(err.Error())
			case len(es) == 0:
				w.SharedWith.SetText(NobodyYet)
			default:
				w.SharedWith.SetText(SharedWithLines(es, now()))
			}
		})
	}()
}

// now is the clock the window writes and shows times with (tests fix it,
// so that a minute turning over mid-test changes nothing).
var now = time.Now

// SharedWithLines is the shared-with list as shown: "Alice — read-cap, 14:03".
func SharedWithLines(es []shares.Entry, now time.Time) string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Name + " — " + shares.Describe(e.Kind) + ", " + ui.When(e.Time, now)
	}
	return strings.Join(lines, "\n")
}

// startInvite makes an invite code for the folder shown and waits for the
// friend, off the UI goroutine. allowLocal is the user's confirmation,
// after LocalGridWarning, that the code is for a device on this computer.
func (w *Window) startInvite(allowLocal bool) {
	if w.folder == "" || w.cancelInvite != nil {
		return
	}
	w.InviteAnyway.Hide()
	folder, whom := w.folder, strings.TrimSpace(w.Whom.Text)
	ctx, cancel := context.WithTimeout(w.ctx, inviteTimeout)
	w.cancelInvite = cancel
	w.Invite.Disable()
	w.CancelInvite.Show()
	w.code = ""
	w.Code.Hide()
	w.CopyCode.Hide()
	w.InviteStatus.SetText("Asking the mailbox server for an invite code…")
	done := func(msg string) {
		cancel()
		w.cancelInvite = nil
		w.code = ""
		w.Invite.Enable()
		w.CancelInvite.Hide()
		w.Code.Hide()
		w.CopyCode.Hide()
		w.InviteStatus.SetText(msg)
	}
	go func() {
		p, err := w.b.Invite(ctx, folder, allowLocal)
		if errors.Is(err, invite.ErrLocalGrid) {
			w.do(func() {
				w.InviteAnyway.Show() // first: once the warning shows, so does the confirm
				done(LocalGridWarning)
			})
			return
		}
		if err != nil {
			w.do(func() { done("No invite code was made for “" + folder + "”: " + inviteErr(ctx, err)) })
			return
		}
		w.do(func() {
			w.code = p.Code()
			w.Code.SetText(p.Code())
			w.Code.Show()
			w.CopyCode.Show()
			w.InviteStatus.SetText(InviteWaiting)
		})
		err = p.Wait(ctx)
		w.do(func() {
			if err != nil {
				done("The invite for “" + folder + "” did not go through: " + inviteErr(ctx, err) + " Make a new code to try again.")
				return
			}
			who := "Your friend"
			if whom != "" {
				who = whom
			}
			msg := who + " has received the read-cap of “" + folder + "”."
			done(msg)
			if whom != "" && w.store != nil {
				if _, err := shares.CleanName(whom); err != nil {
					w.InviteStatus.SetText(msg + " The name was not added to the list: " + err.Error() + ".")
					return
				}
				go func() {
					err := w.store.Add(shares.Entry{Folder: folder, Name: whom, Kind: shares.KindInvite, Time: now()})
					w.do(func() {
						if err != nil {
							w.InviteStatus.SetText(msg + " The name was not added to the list: " + err.Error())
						}
						w.refreshSharedWith()
					})
				}()
			}
		})
	}()
}

func inviteErr(ctx context.Context, err error) string {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return "it was cancelled, and its code no longer works."
	}
	return stop(plain(err))
}

// follow checks the box and follows the folder off the UI goroutine.
func (w *Window) follow() {
	kind, in, err := classify(w.FollowIn.Text)
	if err != nil {
		w.FollowStatus.SetText(sentence(err.Error()))
		return
	}
	path := strings.TrimSpace(w.FollowPath.Text)
	if path == "" {
		w.FollowStatus.SetText(NeedPath)
		return
	}
	if !filepath.IsAbs(path) {
		w.FollowStatus.SetText("“" + path + "” is not a full path. " + NeedPath)
		return
	}
	path = filepath.Clean(path)
	w.Follow.Disable()
	if kind == inputCode {
		w.FollowStatus.SetText("Meeting your friend's device through the mailbox server…")
	} else {
		w.FollowStatus.SetText("Opening the folder on the grid…")
	}
	go func() {
		ctx, cancel := context.WithTimeout(w.ctx, followTimeout)
		defer cancel()
		msg, ok, keep := w.runFollow(ctx, kind, in, path)
		w.do(func() {
			w.Follow.Enable()
			switch {
			case ok:
				w.FollowIn.SetText("")
			case keep != "":
				w.FollowIn.SetText(keep)
			}
			w.FollowStatus.SetText(msg)
			w.loadFolders(w.folder)
		})
	}()
}

// runFollow follows a read-cap, or the folder an invite code brings; it
// returns what to say, whether the folder was added and, when an invite
// was spent but the folder not added, its read-cap to put back in the box
// so that nothing is lost.
func (w *Window) runFollow(ctx context.Context, kind inputKind, in, path string) (msg string, ok bool, keep string) {
	readCap, note := in, ""
	if kind == inputCode {
		f, err := w.b.Accept(ctx, in)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return "The invite code did not work: your friend's device did not answer in time. Is their Share window still open with this code?", false, ""
			}
			return "The invite code did not work: " + stop(plain(err)), false, ""
		}
		c, err := cap.Parse(f.Cap)
		switch {
		case err != nil || !c.IsDir() || !c.IsMutable() || c.ReadOnly() == nil:
			return "The invite did not carry a folder that can be followed (its cap is not a live folder's cap). Ask your friend for the folder's read-cap.", false, ""
		case !c.IsReadOnly():
			// The user's own device sent full control; this box only
			// follows. Keep no write cap around.
			note = " The invite carried full control of the folder (a write-cap), but this box only follows: it is read-only here. To sync it both ways, join it with lafs join on this computer."
		}
		readCap = c.ReadOnly().String()
	}
	st, err := w.b.Add(ctx, api.AddRequest{Path: path, Follow: readCap})
	if err != nil {
		msg = "Could not follow the folder: " + stop(plain(err))
		if kind == inputCode {
			msg += " The invite code is used up; the folder's read-cap is now in the box: tap Follow to try again."
			return msg, false, readCap
		}
		return msg, false, ""
	}
	return "Following “" + st.Name + "” into " + st.Path + ". It is read-only here: changes you make in it are not uploaded." + note, true, ""
}

// plain is an error from the folder sync without the sentinel's prefix
// ("bad request: …"), which means nothing to a user.
func plain(err error) string {
	msg := err.Error()
	if errors.Is(err, api.ErrNoGrid) {
		msg = strings.TrimPrefix(msg, api.ErrNoGrid.Error()+": ")
		return "this computer cannot reach the grid right now (" + msg + "). Try again once it is connected."
	}
	for _, e := range []error{api.ErrBadInput, api.ErrExists, api.ErrReadOnly, api.ErrNoFolder} {
		if errors.Is(err, e) {
			msg = strings.TrimPrefix(msg, e.Error()+": ")
		}
	}
	return msg
}

// sentence starts s with a capital and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return stop(string(unicode.ToUpper(r)) + s[n:])
}

// stop ends s with a full stop.
func stop(s string) string {
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}
