package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/recovery"
)

// Texts of the recovery-kit screens, shared with the tests.
const (
	KitIntro = "A recovery kit gets your folders back on a new computer: it holds the keys to them, " +
		"encrypted with a passphrase you choose. Save it somewhere safe (a USB stick, another computer) " +
		"or print it with its QR code, and keep the passphrase apart from it."
	KitMismatch   = "The two passphrases do not match."
	KitSaving     = "Saving the recovery kit…"
	KitRestoreTip = "Choose the recovery kit file (or paste its text) and type its passphrase."
)

// KitExport is the first-run wizard's recovery-kit step: a passphrase
// twice with strength feedback, where to save, and the QR code once saved.
type KitExport struct {
	Pass, Again *widget.Entry
	Strength    *widget.Label
	Path        *widget.Entry
	Save        *widget.Button
	Status      *widget.Label
	QR          *canvas.Image
	Content     fyne.CanvasObject

	collect func(context.Context) (*recovery.Kit, error)
	params  recovery.Params
	done    func(recovery.Saved)
	working sync.WaitGroup // a save under way, until its result is shown (tests wait on it)
}

// NewKitExport builds the step. collect gathers the kit (recovery.Collect
// over the in-process Manager); path is the suggested file; done is
// called, on the UI thread, once the kit is saved. w parents the file
// dialog.
func NewKitExport(w fyne.Window, collect func(context.Context) (*recovery.Kit, error), path string, params recovery.Params, done func(recovery.Saved)) *KitExport {
	e := &KitExport{collect: collect, params: params, done: done}
	e.Pass, e.Again = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	e.Pass.SetPlaceHolder(fmt.Sprintf("at least %d characters; four or five unrelated words", recovery.MinLength))
	e.Again.SetPlaceHolder("the same again")
	e.Strength = widget.NewLabel("")
	e.Strength.Wrapping = fyne.TextWrapWord
	e.Path = widget.NewEntry()
	e.Path.SetText(path)
	e.Status = widget.NewLabel("")
	e.Status.Wrapping = fyne.TextWrapWord
	e.QR = canvas.NewImageFromResource(nil)
	e.QR.FillMode = canvas.ImageFillContain
	e.QR.SetMinSize(fyne.NewSize(240, 240))
	e.QR.Hide()
	e.Save = widget.NewButton("Save the recovery kit", e.save)
	e.Pass.OnChanged = func(string) { e.check() }
	e.Again.OnChanged = func(string) { e.check() }
	choose := widget.NewButton("Choose…", func() {
		d := dialog.NewFileSave(func(uc fyne.URIWriteCloser, err error) {
			if err != nil || uc == nil {
				return
			}
			uc.Close()
			e.Path.SetText(uc.URI().Path())
		}, w)
		d.SetFileName(filepath.Base(e.Path.Text))
		d.Show()
	})
	intro := widget.NewLabel(KitIntro)
	intro.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Passphrase", e.Pass),
		widget.NewFormItem("Again", e.Again),
		widget.NewFormItem("", e.Strength),
		widget.NewFormItem("Save to", container.NewBorder(nil, nil, nil, choose, e.Path)),
	)
	e.Content = container.NewVBox(intro, form, e.Save, e.Status, container.NewCenter(e.QR))
	e.check()
	return e
}

// Wait returns once no save is under way and the last one's result is
// shown (tests; the UI never waits).
func (e *KitExport) Wait() { e.working.Wait() }

// check shows the strength and enables Save when the step can save.
func (e *KitExport) check() {
	p := e.Pass.Text
	ok := false
	switch s := recovery.Estimate(p); {
	case p == "":
		e.Strength.SetText("")
	case !s.OK:
		e.Strength.SetText("Too weak. " + s.Advice)
	case e.Again.Text != p:
		e.Strength.SetText("Strength: " + s.Level + ". " + KitMismatch)
	default:
		e.Strength.SetText("Strength: " + s.Level + ". " + s.Advice)
		ok = true
	}
	if ok && strings.TrimSpace(e.Path.Text) != "" {
		e.Save.Enable()
	} else {
		e.Save.Disable()
	}
}

// save seals and writes the kit off the UI thread (the key derivation
// takes about a second), then shows the QR code.
func (e *KitExport) save() {
	pass, path := e.Pass.Text, strings.TrimSpace(e.Path.Text)
	e.Save.Disable()
	e.Status.SetText(KitSaving)
	e.working.Add(1)
	go func() {
		saved, err := e.seal(pass, path)
		fyne.Do(func() {
			defer e.working.Done()
			e.Save.Enable()
			if err != nil {
				e.Status.SetText("The recovery kit was not saved: " + err.Error())
				return
			}
			msg := "Saved to " + saved.Path + "."
			if saved.QR != "" {
				msg += " Its QR code is in " + saved.QR + ": print it, or keep it on another device."
				e.QR.File = saved.QR
				e.QR.Show()
				e.QR.Refresh()
			} else {
				msg += " No QR code: " + saved.QRErr.Error()
			}
			e.Pass.SetText("")
			e.Again.SetText("")
			if e.done != nil {
				e.done(saved)
			}
			e.Status.SetText(msg) // last: it says the step is done
		})
	}()
}

func (e *KitExport) seal(pass, path string) (recovery.Saved, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := e.collect(ctx)
	if err != nil {
		return recovery.Saved{}, err
	}
	text, err := recovery.Seal(k, pass, e.params)
	if err != nil {
		return recovery.Saved{}, err
	}
	return recovery.Save(path, text)
}

// KitRestore is the screen that brings a recovery kit back: the file (or
// its text pasted), the passphrase, where the folders go.
type KitRestore struct {
	File, Pass, Into *widget.Entry
	Restore          *widget.Button
	Status           *widget.Label
	Content          fyne.CanvasObject

	nodeDir string
	adder   recovery.FolderAdder
	working sync.WaitGroup // a restore under way, until its result is shown (tests wait on it)
}

// NewKitRestore builds the restore screen for the node in nodeDir, whose
// folder sync adder adds the folders (the in-process Manager).
func NewKitRestore(w fyne.Window, nodeDir string, adder recovery.FolderAdder) *KitRestore {
	r := &KitRestore{nodeDir: nodeDir, adder: adder}
	r.File = widget.NewMultiLineEntry()
	r.File.SetPlaceHolder("the kit's file, or its text (LAFS-SYNC-RECOVERY-KIT 1 …)")
	r.Pass = widget.NewPasswordEntry()
	r.Into = widget.NewEntry()
	r.Into.SetPlaceHolder("where each folder was (or a folder to put them all in)")
	r.Status = widget.NewLabel(KitRestoreTip)
	r.Status.Wrapping = fyne.TextWrapWord
	r.Restore = widget.NewButton("Restore", r.restore)
	choose := widget.NewButton("Choose…", func() {
		dialog.NewFileOpen(func(uc fyne.URIReadCloser, err error) {
			if err != nil || uc == nil {
				return
			}
			uc.Close()
			r.File.SetText(uc.URI().Path())
		}, w).Show()
	})
	form := widget.NewForm(
		widget.NewFormItem("Recovery kit", container.NewBorder(nil, nil, nil, choose, r.File)),
		widget.NewFormItem("Passphrase", r.Pass),
		widget.NewFormItem("Folders into", r.Into),
	)
	r.Content = container.NewVBox(form, r.Restore, r.Status)
	return r
}

func (r *KitRestore) restore() {
	in, pass, into := strings.TrimSpace(r.File.Text), r.Pass.Text, strings.TrimSpace(r.Into.Text)
	r.Restore.Disable()
	r.Status.SetText("Opening the recovery kit…")
	r.working.Add(1)
	go func() {
		msg := r.run(in, pass, into)
		fyne.Do(func() {
			defer r.working.Done()
			r.Restore.Enable()
			r.Status.SetText(msg)
		})
	}()
}

// run restores and says what happened, in lines.
func (r *KitRestore) run(in, pass, into string) string {
	text := []byte(in)
	if !strings.HasPrefix(strings.ToUpper(in), recovery.HeaderWord) {
		b, err := recovery.ReadFile(in)
		if err != nil {
			return "Cannot read the recovery kit: " + err.Error()
		}
		text = b
	}
	k, err := recovery.Open(text, pass)
	if err != nil {
		return err.Error()
	}
	if into != "" && !filepath.IsAbs(into) {
		return "“Folders into” must be a full path (like /home/you/Restored)."
	}
	lines := []string{fmt.Sprintf("Recovery kit of %s: %d folders, %d aliases.", k.Created.Local().Format("2006-01-02 15:04"), len(k.Folders), len(k.Aliases))}
	ar, err := recovery.RestoreAliases(r.nodeDir, k)
	if err != nil {
		lines = append(lines, "The aliases were not restored: "+err.Error())
	} else if len(ar.Different) > 0 {
		lines = append(lines, "Aliases kept as they were (another directory has the name here): "+strings.Join(ar.Different, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, f := range recovery.RestoreFolders(ctx, r.adder, k, into) {
		switch {
		case f.Exists:
			lines = append(lines, f.Name+": already here, left as it is.")
		case errors.Is(f.Err, context.DeadlineExceeded):
			lines = append(lines, f.Name+": not restored: the grid did not answer in time.")
		case f.Err != nil:
			lines = append(lines, f.Name+": not restored: "+f.Err.Error())
		case f.Mode == recovery.ModeFollow:
			lines = append(lines, f.Name+": following again into "+f.Path+" (read-only).")
		default:
			lines = append(lines, f.Name+": syncing again in "+f.Path+".")
		}
	}
	return strings.Join(lines, "\n")
}
