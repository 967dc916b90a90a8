package wizard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/recovery"
)

// newRestore builds the restore step: the kit's file (typed, or chosen
// with a file dialog), its passphrase, and the folder the kit's folders
// go in (each under its name; the home-based folder the folder step
// suggests).
func (z *Wizard) newRestore(w fyne.Window) fyne.CanvasObject {
	z.KitFile = widget.NewEntry()
	z.KitFile.SetPlaceHolder(filepath.Join(z.home, "LAFS Sync recovery kit.txt"))
	z.KitPass = widget.NewPasswordEntry()
	z.KitPass.SetPlaceHolder("the kit's passphrase")
	z.KitInto = widget.NewEntry()
	z.KitInto.SetText(filepath.Join(z.home, "LAFS Sync"))
	// A kit explained and offered for its aliases is forgotten as soon
	// as the user changes what they asked for.
	z.KitFile.OnChanged = func(string) { z.forgetKit() }
	z.KitPass.OnChanged = func(string) { z.forgetKit() }
	chooseFile := widget.NewButton("Choose…", func() {
		dialog.NewFileOpen(func(uc fyne.URIReadCloser, err error) {
			if err != nil || uc == nil {
				return
			}
			uc.Close()
			z.KitFile.SetText(uc.URI().Path())
		}, w).Show()
	})
	chooseInto := widget.NewButton("Choose…", func() {
		dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				z.KitInto.SetText(u.Path())
			}
		}, w).Show()
	})
	z.RestoreStatus = wrapped("")
	form := widget.NewForm(
		widget.NewFormItem("Recovery kit", container.NewBorder(nil, nil, nil, chooseFile, z.KitFile)),
		widget.NewFormItem("Passphrase", z.KitPass),
		widget.NewFormItem("Folders into", container.NewBorder(nil, nil, nil, chooseInto, z.KitInto)),
	)
	return container.NewVBox(bold("Restore from a recovery kit"), wrapped(RestoreAsk), form, z.RestoreStatus)
}

// forgetKit drops a kit opened and explained but not restored, so that
// the button restores what the fields say now.
func (z *Wizard) forgetKit() {
	if z.Step != StepRestore || z.busy {
		return
	}
	if z.opened != nil {
		z.opened = nil
		z.RestoreStatus.SetText("")
	}
	z.setNext("Restore")
}

// RestoreInput reads and checks the restore step's answer: the kit's
// file, its passphrase and where the folders go.
func (z *Wizard) RestoreInput() (file, pass, into string, err error) {
	file = strings.TrimSpace(z.KitFile.Text)
	if file == "" {
		return "", "", "", problem("Choose the recovery kit's file with Choose…, or type its full path.")
	}
	if !filepath.IsAbs(file) {
		return "", "", "", problem(fmt.Sprintf("“%s” is not a full path; choose the kit with Choose… or type its path whole (like %s).", file, filepath.Join(z.home, "LAFS Sync recovery kit.txt")))
	}
	pass = z.KitPass.Text
	if pass == "" {
		return "", "", "", problem("Type the passphrase the recovery kit was made with.")
	}
	into = strings.TrimSpace(z.KitInto.Text)
	if into == "" {
		return "", "", "", problem("Choose the folder your folders go in (each under its own name).")
	}
	if !filepath.IsAbs(into) {
		return "", "", "", problem(fmt.Sprintf("“%s” is not a full path; choose the folder with Choose… or type it whole (like %s).", into, filepath.Join(z.home, "LAFS Sync")))
	}
	if st, err := os.Stat(into); err == nil && !st.IsDir() {
		return "", "", "", problem(fmt.Sprintf("%s is a file, not a folder. Choose a folder for your folders to go in.", into))
	}
	return filepath.Clean(file), pass, filepath.Clean(into), nil
}

// openKit reads and opens the kit, in the user's words when it cannot.
// It runs the key derivation: call it off the UI thread.
func openKit(file, pass string) (*recovery.Kit, error) {
	text, err := recovery.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, problem(fmt.Sprintf("There is no file %s. Choose the recovery kit's file with Choose….", file))
	case errors.Is(err, recovery.ErrNotKit):
		return nil, problem(fmt.Sprintf("%s is not a LAFS Sync recovery kit: it is far larger than a kit. Choose the kit's file (a small text file beginning “%s 1”).", file, recovery.HeaderWord))
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, problem(fmt.Sprintf("Cannot read %s: %v. Choose another file, or check that it can be read.", file, err))
	}
	k, err := recovery.Open(text, pass)
	switch {
	case err == nil:
		return k, nil
	case errors.Is(err, recovery.ErrWrongPassphrase):
		return nil, problem("Wrong passphrase: this is not the passphrase the recovery kit was made with. Type it again (capitals and spaces count).")
	case errors.Is(err, recovery.ErrNotKit):
		return nil, problem(fmt.Sprintf("%s is not a LAFS Sync recovery kit (a kit's first line is “%s 1”). Choose the kit's file.", file, recovery.HeaderWord))
	default:
		// ErrTruncated, ErrDamaged, ErrVersion, ErrContents: each
		// already says what happened and what to do.
		return nil, problem(fmt.Sprintf("Cannot restore %s: %v.", file, err))
	}
}

func (z *Wizard) restoreNext() {
	if k := z.opened; k != nil {
		z.restoreAliasesOnly(k)
		return
	}
	file, pass, into, err := z.RestoreInput()
	if err != nil {
		z.RestoreStatus.SetText(err.Error())
		return
	}
	z.setBusy(true)
	z.RestoreStatus.SetText("Opening the recovery kit…")
	z.working.Add(1)
	go func() {
		k, err := openKit(file, pass)
		if err != nil {
			fyne.Do(func() {
				defer z.working.Done()
				z.setBusy(false)
				z.RestoreStatus.SetText(err.Error())
			})
			return
		}
		if KitOnItsComputer(k) {
			fyne.Do(func() {
				defer z.working.Done()
				z.setBusy(false)
				z.opened = k
				text := LocalKitText
				if !k.Grid.Local {
					text = NoGridKitText
				}
				z.RestoreStatus.SetText(fmt.Sprintf("%s\n\n%s", describeKit(k), text))
				z.setNext(AliasesOnlyLabel)
			})
			return
		}
		fyne.Do(func() {
			z.RestoreStatus.SetText(fmt.Sprintf("%s\nJoining the kit's grid and adding its folders into %s…", describeKit(k), into))
		})
		ctx, cancel := context.WithTimeout(context.Background(), RestoreTimeout)
		r, err := z.b.Restore(ctx, k, into)
		cancel()
		fyne.Do(func() {
			defer z.working.Done()
			z.setBusy(false)
			switch {
			case err != nil:
				z.RestoreStatus.SetText("The kit was not restored: " + err.Error() + ".")
			case r.Failed() > 0:
				// Restoring again is safe: the grid is joined already,
				// aliases and folders that came back are left as they are.
				z.RestoreStatus.SetText(r.Summary() + "\n\nPress Restore to try the others again.")
			default:
				z.RestoreStatus.SetText("")
				z.DoneLabel.SetText(r.Summary() + "\n\n" + RestoredDone)
				z.show(StepDone)
			}
		})
	}()
}

// restoreAliasesOnly restores the aliases of a kit KitOnItsComputer the
// user agreed to, then goes on as for the local grid: the folder step.
func (z *Wizard) restoreAliasesOnly(k *recovery.Kit) {
	z.setBusy(true)
	z.RestoreStatus.SetText("Restoring the aliases…")
	z.working.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), RestoreTimeout)
		r, err := z.b.Restore(ctx, k, "")
		cancel()
		fyne.Do(func() {
			defer z.working.Done()
			z.setBusy(false)
			if err != nil {
				z.RestoreStatus.SetText("The aliases were not restored: " + err.Error())
				return
			}
			z.opened = nil
			z.choice, z.joined = Choice{Where: LocalGrid}, Joined{}
			s := r.Summary()
			if s == "" {
				s = "The kit holds no aliases."
			}
			z.GridStatus.SetText(LocalNote)
			z.prepareFolder()
			z.FolderText.SetText(s + " No folder was added from the kit.\n\n" + FolderAsk)
			z.show(StepFolder)
		})
	}()
}

// describeKit is the kit in one line, without a cap.
func describeKit(k *recovery.Kit) string {
	from := ""
	if k.Node != "" {
		from = " on “" + k.Node + "”"
	}
	return fmt.Sprintf("Recovery kit made %s%s: %s, %s.", k.Created.Local().Format("2006-01-02 15:04"), from,
		count(len(k.Folders), "folder", "folders"), count(len(k.Aliases), "alias", "aliases"))
}
