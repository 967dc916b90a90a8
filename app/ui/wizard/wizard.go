// Package wizard is LAFS Sync's first-run setup: where the files are
// kept (this computer's own local grid, a grid joined with an invite
// code, or a grid's introducer address), which folder to sync, and a
// recovery kit; or, instead of all that, restoring a recovery kit made
// on another computer (its grid joined again, its folders added back).
// It never blocks the UI: every step that talks to the node or the
// network, and the kit's key derivation, runs in a goroutine and reports
// back with fyne.Do.
//
// The node already runs on the local grid while the wizard is open (that
// is the default), so closing the wizard early leaves a working app; the
// wizard comes back at the next start until it is finished.
package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/invite"
)

// Where is the user's choice of grid.
type Where int

const (
	// LocalGrid keeps the files on this computer's own local grid.
	LocalGrid Where = iota
	// InviteCode joins a grid with a code from another device.
	InviteCode
	// Introducer joins a grid by its introducer's address.
	Introducer
)

// Choice is the grid step's answer.
type Choice struct {
	Where Where
	// Code is the invite code (InviteCode), Address the introducer's
	// lafs:// address (Introducer).
	Code, Address string
}

// Joined is what the grid step brought.
type Joined struct {
	// Summary says in words what happened ("Joined the grid: …").
	Summary string
	// Folder is a folder the invite shares (a friend's, read-only, or the
	// user's own from another device), nil when it shares none.
	Folder *invite.Folder
}

// Backend is what the wizard needs from the app. All calls come from
// goroutines, never the UI thread; each may take a while.
type Backend interface {
	// Grid applies the choice: the local grid (already running), or it
	// joins the grid and restarts the node on it.
	Grid(ctx context.Context, c Choice) (Joined, error)
	// AddFolder syncs the folder at path (it exists); with f, path
	// receives the invite's folder instead of a new one.
	AddFolder(ctx context.Context, path string, f *invite.Folder) error
	// Kit gathers the recovery kit of the folders now configured.
	Kit(ctx context.Context) (*recovery.Kit, error)
	// Restore brings back a recovery kit the wizard opened: it joins the
	// kit's grid (restarting the node on it), adds the kit's aliases and
	// adds its folders, each at into/NAME. For a kit KitOnItsComputer
	// says cannot give files back here, it adds the aliases only and
	// leaves the grid and the folders alone.
	Restore(ctx context.Context, k *recovery.Kit, into string) (Restored, error)
	// Finish records that the setup is done.
	Finish() error
}

// Restored is what restoring a kit did.
type Restored struct {
	// Grid says in words what happened to the grid ("Joined the kit's
	// grid …"); "" when the grid was left as it was (aliases only).
	Grid    string
	Aliases recovery.AliasResult
	// Folders is what happened to each of the kit's folders; none when
	// only the aliases were restored.
	Folders []recovery.FolderResult
}

// Failed counts the folders that were not restored (a folder that was
// there already is not a failure).
func (r Restored) Failed() int {
	n := 0
	for _, f := range r.Folders {
		if f.Err != nil && !f.Exists {
			n++
		}
	}
	return n
}

// Summary says what was restored, one line per fact.
func (r Restored) Summary() string {
	var lines []string
	if r.Grid != "" {
		lines = append(lines, r.Grid)
	}
	added := 0
	var per []string
	for _, f := range r.Folders {
		switch {
		case f.Exists:
			per = append(per, fmt.Sprintf("“%s”: already here, left as it is.", f.Name))
		case errors.Is(f.Err, context.DeadlineExceeded):
			per = append(per, fmt.Sprintf("“%s”: not restored: the grid did not answer in time.", f.Name))
		case f.Err != nil:
			per = append(per, fmt.Sprintf("“%s”: not restored: %v.", f.Name, f.Err))
		case f.Mode == recovery.ModeFollow:
			added++
			per = append(per, fmt.Sprintf("“%s”: following again in %s (read-only).", f.Name, f.Path))
		default:
			added++
			per = append(per, fmt.Sprintf("“%s”: syncing again in %s.", f.Name, f.Path))
		}
	}
	if len(r.Folders) > 0 {
		lines = append(lines, fmt.Sprintf("%s of %d added:", count(added, "folder", "folders"), len(r.Folders)))
		lines = append(lines, per...)
	}
	a := r.Aliases
	if n := len(a.Added) + len(a.Same); n > 0 {
		lines = append(lines, count(n, "alias", "aliases")+" restored.")
	}
	if len(a.Different) > 0 {
		lines = append(lines, "Aliases kept as they were (this computer has another directory under the name): "+strings.Join(a.Different, ", ")+".")
	}
	return strings.Join(lines, "\n")
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// KitOnItsComputer says whether the kit's files cannot come back on
// another computer: its node kept them on its own local grid (the
// pieces were on that computer's disk; the kit's caps name the files
// but cannot fetch them from anywhere else), or it names no introducer
// to reach its grid by.
//
// The decision for such a kit: the wizard says so plainly and offers to
// restore its aliases only. Its folders are not added: each would be a
// folder here joined to a directory no server of this computer's grid
// holds, so adding it fails (or, had it not, would sync nothing back).
// The aliases are only names for caps, harmless to keep, and they work
// again should the old grid ever be reachable. The node stays on this
// computer's own new local grid, and the wizard goes on to the folder
// step as for the local grid.
func KitOnItsComputer(k *recovery.Kit) bool {
	if k.Grid.Local {
		return true
	}
	for pet := range k.Grid.Introducers {
		if pet != recovery.LocalPetname {
			return false
		}
	}
	return true
}

// Texts shared with the tests.
const (
	Title        = "Set up LAFS Sync"
	GridQuestion = "Where should your files be kept?"
	LocalLabel   = "On this computer's own local grid (to try it out; no other devices)"
	InviteLabel  = "Join a grid with an invite code from another device"
	AddressLabel = "Join a grid by its introducer address"
	LocalNote    = "Your files stay on this computer only: if it is lost, so are they. " +
		"You can join a grid of several computers later."
	FolderAsk = "Choose the folder to keep in sync. What is in it now is uploaded, encrypted; " +
		"new and changed files follow as you save them."
	KitSkipped = "No recovery kit yet. Make one later from the menu: Recovery kit…"
	DoneText   = "All set. LAFS Sync keeps your folder in sync in the background; " +
		"its icon in the tray shows how it is doing."
	MeetingText = "Meeting the inviting device through the mailbox server…"

	RestoreLabel = "Restore from a recovery kit…"
	RestoreAsk   = "Choose the recovery kit you saved on your old computer and type its passphrase. " +
		"This computer then joins the kit's grid and your folders come back from it, each under its name in the folder below."
	// LocalKitText explains a kit KitOnItsComputer (made on the local
	// grid) and offers its aliases only.
	LocalKitText = "This kit was made on a computer that kept your files on its own local grid: the files were stored " +
		"only on that computer's disk. The kit holds the keys to them, but keys only open files where the files are, " +
		"so it cannot bring them back on this computer.\n\n" +
		"You can still restore its aliases (names for its directories, which work again if that computer's grid ever " +
		"comes back); no folder is added, and you go on to set up this computer on its own."
	// NoGridKitText explains a kit that names no introducer.
	NoGridKitText = "This kit does not say how to reach its grid (its node had no introducer), so it cannot bring your " +
		"files back on this computer.\n\n" +
		"You can still restore its aliases; no folder is added, and you go on to set up this computer on its own."
	AliasesOnlyLabel = "Restore the aliases only"
	RestoredDone     = "All set. LAFS Sync keeps the restored folders in sync in the background; the files arrive as they download, " +
		"and its icon in the tray shows how it is doing."
)

// Timeouts of the steps and the kit's key derivation; tests shorten them.
var (
	KitParams      = recovery.DefaultParams
	GridTimeout    = 3 * time.Minute
	FolderTimeout  = 2 * time.Minute
	RestoreTimeout = 10 * time.Minute
)

// Wizard is the setup window's state and widgets (exported for tests).
type Wizard struct {
	W fyne.Window

	// Grid step.
	Where         *widget.RadioGroup
	Code, Address *widget.Entry
	GridStatus    *widget.Label
	// Folder step.
	FolderText   *widget.Label
	Folder       *widget.Entry
	FolderStatus *widget.Label
	// Kit step.
	Kit *ui.KitExport
	// Done step.
	DoneLabel *widget.Label
	// Restore step (from RestoreKit on the grid step).
	RestoreKit                *widget.Button
	KitFile, KitPass, KitInto *widget.Entry
	RestoreStatus             *widget.Label

	Back, Next *widget.Button
	Step       int // 0 grid, 1 folder, 2 kit, 3 done, 4 restore

	b       Backend
	joined  Joined
	choice  Choice
	kitNote *widget.Label
	busy    bool
	body    *fyne.Container
	bar     *fyne.Container // Back and Next, laid out again when Next's text changes
	steps   []fyne.CanvasObject
	onDone  func()
	home    string
	working sync.WaitGroup // a step under way, until its result is shown (tests wait on it)
	// opened is the kit KitOnItsComputer that the restore step explains
	// and offers the aliases of; an edit of the file or passphrase
	// forgets it.
	opened *recovery.Kit
}

// Steps, as numbered in Wizard.Step.
const (
	StepGrid = iota
	StepFolder
	StepKit
	StepDone
	StepRestore
)

// New builds the wizard in w (which it fills and sizes). home is where
// the suggested folder goes (the user's home directory); onDone runs on
// the UI thread when the user finishes.
func New(w fyne.Window, b Backend, home string, onDone func()) *Wizard {
	z := &Wizard{W: w, b: b, onDone: onDone, home: home}
	w.SetTitle(Title)

	// Step 0: the grid.
	z.Code = widget.NewEntry()
	z.Code.SetPlaceHolder("like 7-guitarist-revenge")
	z.Address = widget.NewEntry()
	z.Address.SetPlaceHolder("lafs://v0-…@host:port")
	z.GridStatus = wrapped("")
	z.Where = widget.NewRadioGroup([]string{LocalLabel, InviteLabel, AddressLabel}, func(string) { z.showEntries() })
	z.Where.SetSelected(LocalLabel)
	z.Where.Required = true
	z.RestoreKit = widget.NewButton(RestoreLabel, func() {
		if !z.busy {
			z.show(StepRestore)
		}
	})
	grid := container.NewVBox(bold(GridQuestion), z.Where,
		widget.NewForm(widget.NewFormItem("Invite code", z.Code), widget.NewFormItem("Introducer", z.Address)),
		z.GridStatus, widget.NewSeparator(),
		wrapped("Moving to a new computer, or starting again after a loss?"),
		container.NewHBox(z.RestoreKit))

	// Step 1: the folder.
	z.FolderText = wrapped(FolderAsk)
	z.Folder = widget.NewEntry()
	z.Folder.SetText(filepath.Join(home, "LAFS Sync"))
	browse := widget.NewButton("Choose…", func() {
		dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				z.Folder.SetText(u.Path())
			}
		}, w).Show()
	})
	z.FolderStatus = wrapped("")
	folder := container.NewVBox(bold("Your folder"), z.FolderText,
		container.NewBorder(nil, nil, nil, browse, z.Folder), z.FolderStatus)

	// Step 2: the recovery kit.
	z.Kit = ui.NewKitExport(w, b.Kit, filepath.Join(home, "LAFS Sync recovery kit.txt"), KitParams,
		func(recovery.Saved) { z.setNext("Next") })
	z.kitNote = wrapped("")
	kit := container.NewVBox(bold("A recovery kit"), z.Kit.Content, z.kitNote)

	// Step 3: done.
	z.DoneLabel = wrapped(DoneText)
	done := container.NewVBox(bold("Done"), z.DoneLabel)

	// Step 4: restore a kit (instead of steps 0 to 2).
	restore := z.newRestore(w)

	z.steps = []fyne.CanvasObject{grid, folder, kit, done, restore}
	z.Back = widget.NewButton("Back", z.back)
	z.Next = widget.NewButton("Next", z.next)
	z.Next.Importance = widget.HighImportance
	z.body = container.NewStack(grid)
	z.bar = container.NewHBox(z.Back, z.Next)
	w.SetContent(container.NewBorder(nil, z.bar, nil, nil,
		container.NewVScroll(container.NewPadded(z.body))))
	w.Resize(fyne.NewSize(620, 520))
	z.show(StepGrid)
	return z
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func bold(s string) *widget.Label {
	l := widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return l
}

// showEntries enables the entry that belongs to the chosen option.
func (z *Wizard) showEntries() {
	setEnabled(z.Code, z.Where.Selected == InviteLabel)
	setEnabled(z.Address, z.Where.Selected == AddressLabel)
	if z.Where.Selected == LocalLabel {
		z.GridStatus.SetText(LocalNote)
	} else {
		z.GridStatus.SetText("")
	}
}

type enabler interface {
	Enable()
	Disable()
}

func setEnabled(w enabler, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// show switches to step i.
func (z *Wizard) show(i int) {
	z.Step = i
	z.body.Objects = []fyne.CanvasObject{z.steps[i]}
	z.body.Refresh()
	switch i {
	case StepKit:
		z.setNext("Skip for now")
		if z.choice.Where == LocalGrid {
			z.kitNote.SetText("Note: on the local grid the kit brings your folders back only while this computer's grid can be reached.")
		} else {
			z.kitNote.SetText("")
		}
	case StepDone:
		z.setNext("Finish")
	case StepRestore:
		z.forgetKit()
	default:
		z.setNext("Next")
	}
	z.setBusy(false)
}

// setNext sets the Next button's text and makes room for it.
func (z *Wizard) setNext(text string) {
	z.Next.SetText(text)
	if z.bar != nil {
		z.bar.Refresh()
	}
}

// setBusy disables the buttons while a step works.
func (z *Wizard) setBusy(b bool) {
	z.busy = b
	setEnabled(z.Next, !b)
	setEnabled(z.Back, !b && (z.Step == StepFolder || z.Step == StepKit || z.Step == StepRestore))
	setEnabled(z.RestoreKit, !b)
}

func (z *Wizard) back() {
	if z.busy || z.Step == StepGrid || z.Step == StepDone {
		return
	}
	if z.Step == StepRestore {
		z.show(StepGrid)
		return
	}
	// Back from the folder goes to the grid: a grid already joined stays
	// joined; choosing again joins another.
	z.show(z.Step - 1)
}

func (z *Wizard) next() {
	if z.busy {
		return
	}
	switch z.Step {
	case StepGrid:
		z.gridNext()
	case StepFolder:
		z.folderNext()
	case StepKit:
		if z.Next.Text == "Skip for now" {
			z.DoneLabel.SetText(KitSkipped + "\n\n" + DoneText)
		} else {
			z.DoneLabel.SetText(DoneText)
		}
		z.show(StepDone)
	case StepDone:
		z.finish()
	case StepRestore:
		z.restoreNext()
	}
}

// problem is a message to the user about their input, written as the
// sentences the wizard shows (so capitalised and punctuated, unlike an
// error that wraps).
type problem string

func (p problem) Error() string { return string(p) }

// GridChoice reads and checks the grid step's answer.
func (z *Wizard) GridChoice() (Choice, error) {
	switch z.Where.Selected {
	case InviteLabel:
		code := strings.TrimSpace(z.Code.Text)
		if code == "" {
			return Choice{}, problem("Type the invite code the other device shows (like 7-guitarist-revenge).")
		}
		if _, err := invite.ParseCode(code); err != nil {
			return Choice{}, problem(fmt.Sprintf("That is not an invite code: %v.", err))
		}
		return Choice{Where: InviteCode, Code: code}, nil
	case AddressLabel:
		addr := strings.TrimSpace(z.Address.Text)
		if addr == "" {
			return Choice{}, problem("Paste the grid's introducer address (it starts with lafs://).")
		}
		if _, err := introducer.ParseURL(addr); err != nil {
			return Choice{}, problem(fmt.Sprintf("That is not an introducer address: %v.", err))
		}
		return Choice{Where: Introducer, Address: addr}, nil
	default:
		return Choice{Where: LocalGrid}, nil
	}
}

func (z *Wizard) gridNext() {
	c, err := z.GridChoice()
	if err != nil {
		z.GridStatus.SetText(err.Error())
		return
	}
	z.setBusy(true)
	switch c.Where {
	case InviteCode:
		z.GridStatus.SetText(MeetingText)
	case Introducer:
		z.GridStatus.SetText("Joining the grid…")
	}
	z.working.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), GridTimeout)
		defer cancel()
		j, err := z.b.Grid(ctx, c)
		if errors.Is(err, context.DeadlineExceeded) && c.Where == InviteCode {
			err = errors.New("the inviting device did not answer in time. Is its invite still open? Ask for a new code and try again")
		}
		fyne.Do(func() {
			defer z.working.Done()
			if err != nil {
				z.setBusy(false)
				z.GridStatus.SetText("Could not set up the grid: " + err.Error() + ".")
				return
			}
			z.choice, z.joined = c, j
			z.GridStatus.SetText(j.Summary)
			z.prepareFolder()
			z.show(StepFolder)
		})
	}()
}

// prepareFolder words the folder step for what the grid step brought.
func (z *Wizard) prepareFolder() {
	f := z.joined.Folder
	if f == nil {
		z.FolderText.SetText(FolderAsk)
		return
	}
	name := f.Name
	if name == "" {
		name = "Shared folder"
	}
	if f.Write {
		z.FolderText.SetText(fmt.Sprintf("The invite brings your folder “%s” from your other device. "+
			"Choose where it goes on this computer: it is kept in sync both ways.", name))
	} else {
		z.FolderText.SetText(fmt.Sprintf("The invite shares the folder “%s” with you, read-only: "+
			"you get its files and every later change, and cannot change it. Choose where it goes.", name))
	}
	z.Folder.SetText(filepath.Join(z.home, safeName(name)))
}

// safeName makes a folder name from a name a peer sent: one path
// element, no separators, not "." or "..", bounded.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '-'
		}
		return r
	}, strings.TrimSpace(s))
	for len(s) > 100 { // whole runes
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if s == "" || s == "." || s == ".." {
		return "Shared folder"
	}
	return s
}

// FolderPath reads and checks the folder step's answer.
func (z *Wizard) FolderPath() (string, error) {
	p := strings.TrimSpace(z.Folder.Text)
	if p == "" {
		return "", problem("Choose a folder.")
	}
	if !filepath.IsAbs(p) {
		return "", problem(fmt.Sprintf("“%s” is not a full path; choose the folder with Choose… or type it whole (like %s).", p, filepath.Join(z.home, "Documents")))
	}
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return "", problem(fmt.Sprintf("%s is a file, not a folder. Choose a folder.", p))
	}
	return filepath.Clean(p), nil
}

func (z *Wizard) folderNext() {
	p, err := z.FolderPath()
	if err != nil {
		z.FolderStatus.SetText(err.Error())
		return
	}
	z.setBusy(true)
	z.FolderStatus.SetText("Adding " + p + "…")
	f := z.joined.Folder
	z.working.Add(1)
	go func() {
		err := os.MkdirAll(p, 0o700)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), FolderTimeout)
			err = z.b.AddFolder(ctx, p, f)
			cancel()
		}
		fyne.Do(func() {
			defer z.working.Done()
			if err != nil {
				z.setBusy(false)
				z.FolderStatus.SetText("The folder was not added: " + err.Error())
				return
			}
			z.FolderStatus.SetText(p + " is syncing; the first upload runs in the background.")
			z.show(StepKit)
		})
	}()
}

func (z *Wizard) finish() {
	if err := z.b.Finish(); err != nil {
		// Not fatal: the wizard only comes back at the next start.
		z.DoneLabel.SetText(DoneText + "\n\n(Could not record that the setup is done, so it will show again: " + err.Error() + ")")
	}
	z.W.Close()
	if z.onDone != nil {
		z.onDone()
	}
}
