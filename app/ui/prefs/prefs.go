package prefs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/syncer/api"
)

// Config is the node's tahoe.cfg as the window reads and writes it.
type Config interface {
	Load() (Settings, error)
	// Save turns the settings old (as loaded) into new and returns the
	// keys it changed (none: nothing was written). On error tahoe.cfg is
	// as it was.
	Save(old, new Settings) ([]config.Setting, error)
}

// Folders is the folder sync as the window uses it; *syncer.Manager
// implements it.
type Folders interface {
	List() []api.FolderStatus
	Remove(ctx context.Context, folder string, keepRemote bool) error
}

// Readier is Folders that can be briefly unavailable (the node
// restarting): while not Ready, an open window keeps the folders it lists
// rather than showing none.
type Readier interface{ Ready() bool }

// Deps are what the window edits; a nil one leaves its section out.
type Deps struct {
	Config    Config
	Folders   Folders
	Autostart ui.Autostart
	// Restart restarts the node so that saved settings take effect; nil:
	// the window says how to restart instead.
	Restart func() error
	// Go runs work off the UI goroutine (nil: a new goroutine); tests
	// make it synchronous.
	Go func(func())
	// Every is how often an open window reads the settings, the folders
	// and start at login again, to show what changed elsewhere meanwhile
	// (lafs editing tahoe.cfg, lafs reachability --apply, a folder added,
	// the tray's start-at-login item). 0: every pollEvery; < 0: never.
	Every time.Duration
}

// pollEvery is how often an open window looks for changes made
// elsewhere: tahoe.cfg is a small file and the folder list is in memory.
const pollEvery = 2 * time.Second

// Texts, shared with tests.
const (
	Title        = "Preferences"
	SaveLabel    = "Save"
	RemoveLabel  = "Remove…"
	RestartLabel = "Restart node now"
	Loading      = "Reading the settings…"
	// ChangedElsewhere is what the window says when tahoe.cfg changed
	// while it was open.
	ChangedElsewhere = "tahoe.cfg was changed outside this window (by lafs, or reachability --apply); the form shows its new settings."
	// RestartHint is what to do for saved settings when the window cannot
	// restart the node itself.
	RestartHint = "The node uses the new settings after a restart: quit LAFS Sync from the tray menu and start it again."
	// NoBandwidthLimits is shown instead of a bandwidth control: the node
	// has no such setting (node/config), and a control that does nothing
	// would lie.
	NoBandwidthLimits = "Bandwidth limits: not available. This version of the node has no setting to limit upload or " +
		"download speed; transfers use what the connection gives."
	EncodingWords = "Each file is cut into n shares, placed on different storage servers; any k of them rebuild it. " +
		"The grid stores about n/k times each file's size, and up to n − k of those servers can be lost without losing the file. " +
		"An upload succeeds only when its shares are on at least \"happy\" different servers. " +
		"New uploads use the new numbers; files already on the grid keep theirs."
)

// Radio choices, shared with tests.
const (
	HelperAuto  = "Automatic: use the grid's helper when one is announced"
	HelperOff   = "Off: always upload to the storage servers directly"
	HelperNamed = "Always this helper:"

	StorageOffLabel      = "Off: store nothing for others"
	StorageOnLabel       = "On: store shares for the grid"
	StorageReadOnlyLabel = "Read-only: keep the shares it has, accept no new ones"
)

var storageLabels = map[Storage]string{StorageOff: StorageOffLabel, StorageOn: StorageOnLabel, StorageReadOnly: StorageReadOnlyLabel}

// Window is the Preferences window.
type Window struct {
	fyne.Window
	d   Deps
	ctx context.Context // ends when the window closes
	end context.CancelFunc

	// The fields below are used on the UI goroutine only.
	loaded   *Settings // as last loaded or saved; nil until read
	folders  *fyne.Container
	remove   map[string]*widget.Button // folder name → its Remove button
	k, happy *widget.Entry
	n        *widget.Entry
	helper   *widget.RadioGroup
	helperID *widget.Entry
	storage  *widget.RadioGroup
	reserved *widget.Entry
	login    *widget.Check
	loginSet bool // login is being set from the setting, not by the user
	save     *widget.Button
	status   *widget.Label
	restart  *widget.Button

	// widgets serialises the live updates' widget changes (fyne's test
	// driver runs fyne.Do on the caller's goroutine); done is closed when
	// the live updates stopped.
	widgets ui.Serial
	done    chan struct{}
	closing sync.Once
}

// state is what the window reads, off the UI goroutine.
type state struct {
	settings Settings
	err      error
	folders  []api.FolderStatus
	login    bool
	loginErr error
}

// New builds the window and starts reading what it shows; Show it.
func New(a fyne.App, d Deps) *Window {
	if d.Go == nil {
		d.Go = func(f func()) { go f() }
	}
	ctx, end := context.WithCancel(context.Background())
	w := &Window{Window: a.NewWindow(Title), d: d, ctx: ctx, end: end, remove: map[string]*widget.Button{}, done: make(chan struct{})}
	w.SetIcon(ui.Icon)
	bold := fyne.TextStyle{Bold: true}
	heading := func(s string) *widget.Label { return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, bold) }
	var body []fyne.CanvasObject
	if d.Folders != nil {
		w.folders = container.NewVBox(wrapped("Reading the folders…"))
		body = append(body, heading("Folders"), w.folders, widget.NewSeparator())
	}
	if d.Config != nil {
		w.k, w.happy, w.n = widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
		w.helper = widget.NewRadioGroup([]string{HelperAuto, HelperOff, HelperNamed}, func(s string) {
			if s == HelperNamed {
				w.helperID.Enable()
			} else {
				w.helperID.Disable()
			}
		})
		w.helperID = widget.NewEntry()
		w.helperID.SetPlaceHolder("v0-… (the helper's node ID)")
		w.helperID.Disable()
		w.storage = widget.NewRadioGroup([]string{StorageOffLabel, StorageOnLabel, StorageReadOnlyLabel}, nil)
		w.reserved = widget.NewEntry()
		w.reserved.SetPlaceHolder("10G")
		body = append(body,
			heading("Encoding"), wrapped(EncodingWords),
			widget.NewForm(
				widget.NewFormItem("Shares needed (k)", w.k),
				widget.NewFormItem("Servers of happiness", w.happy),
				widget.NewFormItem("Total shares (n)", w.n)),
			wrapped(fmt.Sprintf("1 ≤ k ≤ happy ≤ n ≤ %d.", MaxShares)),
			widget.NewSeparator(),
			heading("Upload helper"),
			wrapped("A helper is a public node that erasure-codes your uploads and places the shares for you: you send each file once "+
				"instead of n/k times. It never sees your files' contents or keys."),
			w.helper, w.helperID,
			widget.NewSeparator(),
			heading("Storage server"),
			wrapped("Whether this computer stores encrypted shares for the grid's other nodes."),
			w.storage,
			widget.NewForm(widget.NewFormItem("Reserved space", w.reserved)),
			wrapped("Space on this disk the storage server always leaves free, e.g. 10G, 500MB or 0 (G = 1,000,000,000 bytes; GiB = 2³⁰)."),
			widget.NewSeparator(),
		)
	}
	if d.Autostart != nil {
		w.login = widget.NewCheck(ui.StartAtLogin, w.setLogin)
		w.login.Disable()
		body = append(body, w.login)
	}
	low := widget.NewLabel(NoBandwidthLimits)
	low.Wrapping, low.Importance = fyne.TextWrapWord, widget.LowImportance
	body = append(body, low)
	w.status = wrapped("")
	w.save = widget.NewButton(SaveLabel, w.saveSettings)
	w.save.Disable()
	w.restart = widget.NewButton(RestartLabel, w.restartNode)
	w.restart.Hide()
	buttons := container.NewHBox(w.restart)
	if d.Config != nil {
		buttons = container.NewHBox(w.save, w.restart)
		w.status.SetText(Loading)
	}
	bottom := container.NewVBox(widget.NewSeparator(), w.status, buttons)
	w.SetContent(container.NewBorder(nil, bottom, nil, nil, container.NewVScroll(container.NewVBox(body...))))
	w.Resize(fyne.NewSize(640, 640))
	w.SetOnClosed(end)
	w.load()
	return w
}

// Show builds the window and shows it.
func Show(a fyne.App, d Deps) *Window {
	w := New(a, d)
	w.Show()
	return w
}

// load reads the settings, the folders and start at login off the UI
// goroutine, shows them, then starts following them (follow).
func (w *Window) load() {
	w.d.Go(func() {
		st := w.read()
		fyne.Do(func() {
			if w.d.Config != nil {
				if st.err != nil {
					w.status.SetText(loadError(st.err))
				} else {
					w.showSettings(st.settings)
					w.status.SetText("")
					w.save.Enable()
				}
			}
			if w.d.Folders != nil {
				w.showFolders(st.folders)
			}
			if w.d.Autostart != nil {
				w.showLogin(st.login)
				if st.loginErr != nil {
					w.status.SetText(fmt.Sprintf("Could not read whether LAFS Sync starts at login: %v.", st.loginErr))
				} else {
					w.login.Enable()
				}
			}
		})
		if w.d.Every < 0 {
			close(w.done)
			return
		}
		go func() {
			defer close(w.done)
			w.follow(st)
		}()
	})
}

func loadError(err error) string {
	return fmt.Sprintf("Could not read the node's settings: %v. Fix tahoe.cfg, or run lafs create-node, then open Preferences again.", err)
}

// read is what the window shows, read now.
func (w *Window) read() state {
	var st state
	if w.d.Config != nil {
		st.settings, st.err = w.d.Config.Load()
	}
	if w.d.Folders != nil {
		st.folders = w.d.Folders.List()
	}
	if w.d.Autostart != nil {
		st.login, st.loginErr = w.d.Autostart.Enabled()
	}
	return st
}

// follow reads everything again every Deps.Every until the window
// closes, and changes the window where what it read differs from the
// last read (last): a field the user has edited is kept (liveSettings).
func (w *Window) follow(last state) {
	every := w.d.Every
	if every == 0 {
		every = pollEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
		st := w.read()
		if r, ok := w.d.Folders.(Readier); ok && !r.Ready() {
			st.folders = last.folders
		}
		settings := st.err == nil && (last.err != nil || st.settings != last.settings)
		folders := folderKey(st.folders) != folderKey(last.folders)
		login := st.loginErr == nil && (last.loginErr != nil || st.login != last.login)
		last = st
		if !settings && !folders && !login {
			continue
		}
		w.widgets.Do(func() {
			if w.ctx.Err() != nil {
				return
			}
			if settings {
				w.liveSettings(st.settings)
			}
			if folders {
				w.showFolders(st.folders)
			}
			// A change the user is making (the check is disabled until it
			// is read back) shows its own outcome.
			if login && !w.login.Disabled() && w.login.Checked != st.login {
				w.showLogin(st.login)
			}
		})
	}
}

// Close closes the window and waits for its live updates to stop. A
// second Close does nothing.
func (w *Window) Close() {
	w.closing.Do(func() {
		w.Window.Close()
		w.end()
	})
	<-w.done
}

// folderKey is what the window lists of fs.
func folderKey(fs []api.FolderStatus) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Name + "\x00" + f.Path + "\x00" + f.Mode + "\x01")
	}
	return b.String()
}

// liveSettings shows s, tahoe.cfg as changed elsewhere while the window
// is open; on the UI goroutine. A field still showing what was loaded
// takes the new value; a field the user has edited keeps the edit (Save
// writes it: it differs from the settings loaded, now s), and the status
// says which were kept and what tahoe.cfg says instead.
func (w *Window) liveSettings(s Settings) {
	if w.loaded == nil { // the first read failed; this one worked
		w.showSettings(s)
		w.status.SetText("")
		w.save.Enable()
		return
	}
	old := *w.loaded
	if s == old {
		return // the window's own save, or a change undone
	}
	w.loaded = &s
	var kept []string
	keep := func(what, there string) { kept = append(kept, what+" (tahoe.cfg now says "+there+")") }
	num := func(e *widget.Entry, what string, was, now int) {
		if was == now {
			return
		}
		switch v, err := strconv.Atoi(strings.TrimSpace(e.Text)); {
		case err == nil && v == now: // already so (the window's own save)
		case err == nil && v == was:
			e.SetText(strconv.Itoa(now))
		default:
			keep(what, strconv.Itoa(now))
		}
	}
	num(w.k, "shares needed (k)", old.K, s.K)
	num(w.happy, "servers of happiness", old.Happy, s.Happy)
	num(w.n, "total shares (n)", old.N, s.N)
	if old.Helper != s.Helper {
		switch w.formHelper() {
		case s.Helper:
		case old.Helper:
			w.showHelper(s.Helper)
		default:
			keep("the upload helper", helperWords(s.Helper))
		}
	}
	if old.Storage != s.Storage {
		switch w.storage.Selected {
		case storageLabels[s.Storage]:
		case storageLabels[old.Storage]:
			w.storage.SetSelected(storageLabels[s.Storage])
		default:
			keep("the storage server", string(s.Storage))
		}
	}
	if old.Reserved != s.Reserved {
		r := strings.TrimSpace(w.reserved.Text)
		if r == "" {
			r = "0"
		}
		switch v, err := config.ParseSize(r); {
		case err == nil && v == s.Reserved:
		case err == nil && v == old.Reserved:
			w.reserved.SetText(config.FormatSize(s.Reserved))
		default:
			keep("reserved space", config.FormatSize(s.Reserved))
		}
	}
	if len(kept) == 0 {
		w.status.SetText(ChangedElsewhere)
		return
	}
	w.status.SetText(ChangedElsewhere + " Kept what you typed for " + strings.Join(kept, ", ") + ": Save writes yours.")
}

// formHelper is the helper setting the form shows (not validated).
func (w *Window) formHelper() string {
	switch w.helper.Selected {
	case HelperOff:
		return config.HelperOff
	case HelperNamed:
		return strings.TrimSpace(w.helperID.Text)
	}
	return config.HelperAuto
}

func helperWords(h string) string {
	switch h {
	case config.HelperAuto:
		return "automatic"
	case config.HelperOff:
		return "off"
	}
	return h
}

// showSettings puts s in the form; on the UI goroutine.
func (w *Window) showSettings(s Settings) {
	w.loaded = &s
	w.k.SetText(strconv.Itoa(s.K))
	w.happy.SetText(strconv.Itoa(s.Happy))
	w.n.SetText(strconv.Itoa(s.N))
	w.showHelper(s.Helper)
	w.storage.SetSelected(storageLabels[s.Storage])
	w.reserved.SetText(config.FormatSize(s.Reserved))
}

// showHelper puts the helper setting h in the form.
func (w *Window) showHelper(h string) {
	switch h {
	case config.HelperAuto:
		w.helper.SetSelected(HelperAuto)
		w.helperID.SetText("")
	case config.HelperOff:
		w.helper.SetSelected(HelperOff)
		w.helperID.SetText("")
	default:
		w.helper.SetSelected(HelperNamed)
		w.helperID.SetText(h)
	}
}

// form reads the form, in the user's words when it cannot.
func (w *Window) form() (Settings, error) {
	var s Settings
	for _, f := range []struct {
		e    *widget.Entry
		name string
		dst  *int
	}{{w.k, "Shares needed (k)", &s.K}, {w.happy, "Servers of happiness", &s.Happy}, {w.n, "Total shares (n)", &s.N}} {
		v, err := strconv.Atoi(strings.TrimSpace(f.e.Text))
		if err != nil {
			return s, fmt.Errorf("%s is %q: write a whole number from 1 to %d", strings.ToLower(f.name[:1])+f.name[1:], f.e.Text, MaxShares)
		}
		*f.dst = v
	}
	switch w.helper.Selected {
	case HelperOff:
		s.Helper = config.HelperOff
	case HelperNamed:
		s.Helper = strings.TrimSpace(w.helperID.Text)
		if s.Helper == "" {
			return s, fmt.Errorf("no helper named: paste the helper's node ID (v0-…), or choose automatic or off")
		}
	default:
		s.Helper = config.HelperAuto
	}
	for m, l := range storageLabels {
		if w.storage.Selected == l {
			s.Storage = m
		}
	}
	r := strings.TrimSpace(w.reserved.Text)
	if r == "" {
		r = "0"
	}
	n, err := config.ParseSize(r)
	if err != nil {
		return s, fmt.Errorf("reserved space %q is not a size: write e.g. 10G, 500MB or 0", w.reserved.Text)
	}
	s.Reserved = n
	return s, Validate(s)
}

// saveSettings checks the form and writes tahoe.cfg off the UI
// goroutine; nothing is written when the form is wrong.
func (w *Window) saveSettings() {
	if w.loaded == nil {
		return
	}
	s, err := w.form()
	if err != nil {
		w.status.SetText("Not saved: " + err.Error() + ". Nothing was written.")
		return
	}
	old := *w.loaded
	w.save.Disable()
	w.status.SetText("Saving…")
	w.d.Go(func() {
		changed, err := w.d.Config.Save(old, s)
		fyne.Do(func() {
			w.save.Enable()
			switch {
			case err != nil:
				w.status.SetText(fmt.Sprintf("Could not save the settings: %v. tahoe.cfg was left as it was.", err))
			case len(changed) == 0:
				w.loaded = &s
				w.status.SetText("Nothing to save: the settings are as they were.")
			default:
				w.loaded = &s
				w.status.SetText(SavedText(changed, w.d.Restart != nil))
				if w.d.Restart != nil {
					w.restart.Show()
					w.restart.Enable()
				}
			}
		})
	})
}

// SavedText is what the window says after saving changed.
func SavedText(changed []config.Setting, canRestart bool) string {
	cs := make([]string, len(changed))
	for i, c := range changed {
		cs[i] = c.String()
	}
	t := "Saved to tahoe.cfg: " + strings.Join(cs, ", ") + ". The old file is kept as " + config.BackupFile + ". "
	if canRestart {
		return t + "The node uses the new settings after a restart."
	}
	return t + RestartHint
}

func (w *Window) restartNode() {
	w.restart.Disable()
	w.status.SetText("Restarting the node…")
	w.d.Go(func() {
		err := w.d.Restart()
		fyne.Do(func() {
			if err != nil {
				w.status.SetText(fmt.Sprintf("The node could not be restarted: %v. Quit LAFS Sync and start it again.", err))
				w.restart.Enable()
				return
			}
			w.status.SetText("The node is restarting with the new settings.")
			w.restart.Hide()
		})
	})
}

// showFolders lists the folders; on the UI goroutine.
func (w *Window) showFolders(fs []api.FolderStatus) {
	w.folders.Objects = nil
	clear(w.remove)
	for _, f := range fs {
		name := f.Name
		mode := ""
		if f.Mode == "follow" {
			mode = " (read-only mirror)"
		}
		b := widget.NewButton(RemoveLabel, func() { w.confirmRemove(name, f.Path) })
		w.remove[name] = b
		w.folders.Add(container.NewBorder(nil, nil, nil, container.NewVBox(b), container.NewVBox(
			widget.NewLabelWithStyle(name+mode, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), wrapped(f.Path))))
	}
	if len(fs) == 0 {
		w.folders.Add(wrapped("No folders yet. Add one from a terminal: lafs sync add DIR"))
	}
	w.folders.Refresh()
}

// RemoveQuestion is the confirmation's text for a folder.
func RemoveQuestion(name, path string) string {
	return fmt.Sprintf("LAFS Sync stops syncing %s on this computer. The files in %s stay as they are, and the folder's "+
		"copy on the grid is kept: other devices that sync it go on syncing it.", name, path)
}

func (w *Window) confirmRemove(name, path string) {
	d := dialog.NewConfirm("Stop syncing "+name+"?", RemoveQuestion(name, path), func(ok bool) {
		if !ok {
			return
		}
		w.status.SetText("Removing " + name + "…")
		w.d.Go(func() {
			err := w.d.Folders.Remove(w.ctx, name, true)
			fs := w.d.Folders.List()
			fyne.Do(func() {
				w.showFolders(fs)
				if err != nil {
					w.status.SetText(fmt.Sprintf("Could not remove %s: %v. It is still synced.", name, err))
					return
				}
				w.status.SetText(fmt.Sprintf("Stopped syncing %s. Its files in %s and its copy on the grid are kept.", name, path))
			})
		})
	}, w.Window)
	d.SetConfirmText("Remove")
	d.SetDismissText("Cancel")
	d.Show()
}

// showLogin sets the check without it counting as the user's change.
func (w *Window) showLogin(on bool) {
	w.loginSet = true
	w.login.SetChecked(on)
	w.loginSet = false
}

// setLogin changes start at login off the UI goroutine and shows the
// setting as read back (a failed change shows the old state).
func (w *Window) setLogin(on bool) {
	if w.loginSet {
		return
	}
	w.login.Disable()
	w.d.Go(func() {
		err := w.d.Autostart.SetEnabled(on)
		now, rerr := w.d.Autostart.Enabled()
		if rerr != nil {
			now = on == (err == nil) // not read back: what the change did
		}
		fyne.Do(func() {
			w.showLogin(now)
			w.login.Enable()
			switch {
			case err != nil:
				w.status.SetText(fmt.Sprintf("Could not change whether LAFS Sync starts at login: %v.", err))
			case now:
				w.status.SetText("LAFS Sync now starts when you log in.")
			default:
				w.status.SetText("LAFS Sync no longer starts when you log in.")
			}
		})
	})
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}
