package history

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/lafssync/lafssync/app/ui"
	"github.com/lafssync/lafssync/app/ui/conflicts"
	"github.com/lafssync/lafssync/syncer"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/ignore"
)

// Backend is what the window needs of the folder sync.
type Backend interface {
	List() []api.FolderStatus
	History(ctx context.Context, folder, path string) ([]api.Version, error)
	Deleted(ctx context.Context, folder, dir string) (api.DeletedList, error)
	Restore(ctx context.Context, folder string, r api.RestoreRequest) (string, error)
}

// Subscriber is a Backend that says when folders change: an open window
// then lists folders added since it opened, says when the one shown went
// away, and reads the shown file's versions again when the folder has
// synced (a new version appears without choosing the file again).
type Subscriber interface {
	Subscribe() (events <-chan api.Event, cancel func())
}

// *syncer.Manager is a Backend and a Subscriber as it is.
var (
	_ Backend    = (*syncer.Manager)(nil)
	_ Subscriber = (*syncer.Manager)(nil)
)

// Texts, shared with tests.
const (
	Title       = "History"
	PathHint    = "Search the folder's files, or type a file's path (a deleted file's too)"
	ShowLabel   = "Show versions"
	RestoreText = "Restore this version"
	DeletedNote = "Deleted files the grid still keeps are under Deleted: pick one to see its versions."
	FilesTab    = "Files"
	DeletedTab  = "Deleted"
	NoDeleted   = "No deleted files are kept for this folder."
	CurrentNote = "This is the current version: the folder has it already."
	NoFolders   = "No folders yet: add one first."
)

// Bounds: the local files read for the search, and the matches shown.
const (
	maxFiles   = 50_000
	maxShown   = 500
	maxDeleted = 1000 // as many as the engine lists (remote.MaxDeleted)
)

// Window is the History window.
type Window struct {
	fyne.Window
	Folder  *widget.Select
	Path    *widget.Entry
	Show    *widget.Button
	Files   *widget.List // local files matching Path
	Deleted *widget.List // deleted files the grid keeps, matching Path
	// DeletedInfo says how many deleted files there are, or why none
	// are listed.
	DeletedInfo *widget.Label
	Tabs        *container.AppTabs
	Versions    *widget.List
	Restore     *widget.Button
	Status      *widget.Label

	b      Backend
	ctx    context.Context
	cancel context.CancelFunc
	busy   sync.WaitGroup
	now    func() time.Time

	widgets ui.Serial // the window's widget changes, one at a time

	mu       sync.Mutex // guards the fields below
	folders  map[string]api.FolderStatus
	folder   string            // the folder shown
	all      []string          // its local files, slash paths
	matches  []string          // those matching the search
	gone     api.DeletedList   // the folder's deleted files, from the grid
	goneShow []api.DeletedFile // those matching the search
	goneMsg  string            // what DeletedInfo says
	goneLoad int               // completed deleted-file loads, for tests
	file     string            // the path whose versions are shown
	versions []api.Version
	chosen   int // index in versions, -1 none
	status   string
	loads    int // completed version loads, for tests
}

// Show opens the History window on folder ("" : the first folder).
func Show(a fyne.App, b Backend, folder string) *Window {
	w := New(a, b, folder)
	w.Window.Show()
	return w
}

// New makes the History window without showing it.
func New(a fyne.App, b Backend, folder string) *Window {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{Window: a.NewWindow(Title), b: b, ctx: ctx, cancel: cancel, now: time.Now, chosen: -1, folders: map[string]api.FolderStatus{}}
	var names []string
	for _, f := range b.List() {
		w.folders[f.Name] = f
		names = append(names, f.Name)
	}
	w.Status = widget.NewLabel("")
	w.Status.Wrapping = fyne.TextWrapWord
	w.Path = widget.NewEntry()
	w.Path.SetPlaceHolder(PathHint)
	w.Show = widget.NewButton(ShowLabel, func() { w.Open(w.pathText()) })
	w.Restore = widget.NewButton(RestoreText, w.restore)
	w.Restore.Disable()
	match := func(i int) string { return w.matches[i] }
	w.Files = w.lineList(fyne.TextTruncateOff, func() int { return len(w.matches) }, match, match)
	w.DeletedInfo = widget.NewLabel("")
	w.DeletedInfo.Wrapping = fyne.TextWrapWord
	w.Deleted = w.lineList(fyne.TextTruncateEllipsis, func() int { return len(w.goneShow) },
		func(i int) string { return DeletedLine(w.goneShow[i], w.now()) },
		func(i int) string { return w.goneShow[i].Path })
	w.Versions = w.lineList(fyne.TextTruncateEllipsis, func() int { return len(w.versions) },
		func(i int) string { return Line(w.versions[i], w.now()) }, nil)
	w.Versions.OnSelected = w.choose
	w.Path.OnChanged = func(string) { w.filter() }
	w.Path.OnSubmitted = func(s string) { w.Open(s) }
	w.Folder = widget.NewSelect(names, func(name string) { w.setFolder(name) })
	note := widget.NewLabel(DeletedNote)
	note.Wrapping = fyne.TextWrapWord
	top := container.NewVBox(container.NewBorder(nil, nil, widget.NewLabel("Folder"), nil, w.Folder),
		container.NewBorder(nil, nil, nil, w.Show, w.Path), note)
	bottom := container.NewVBox(widget.NewSeparator(), w.Restore, w.Status)
	w.Tabs = container.NewAppTabs(container.NewTabItem(FilesTab, w.Files),
		container.NewTabItem(DeletedTab, container.NewBorder(w.DeletedInfo, nil, nil, nil, w.Deleted)))
	split := container.NewHSplit(w.Tabs, w.Versions)
	split.Offset = 0.4
	w.SetContent(container.NewBorder(top, bottom, nil, nil, split))
	w.Resize(fyne.NewSize(820, 520))
	w.SetOnClosed(w.stop)
	if sub, ok := b.(Subscriber); ok {
		ev, unsub := sub.Subscribe()
		w.run(func() {
			defer unsub()
			w.follow(ev)
		})
	}
	switch {
	case len(names) == 0:
		w.setStatus(NoFolders)
	case folder != "" && w.folders[folder].Name != "":
		w.Folder.SetSelected(folder)
	default:
		w.Folder.SetSelected(names[0])
	}
	return w
}

// lineList is a list of one-line labels over one of the window's slices:
// n is its length, line(i) the i-th line's text and pathOf(i) the file that
// picking it opens (nil: the caller sets OnSelected). All three are called
// with w.mu held, line and pathOf only with i < n().
func (w *Window) lineList(trunc fyne.TextTruncation, n func() int, line, pathOf func(i int) string) *widget.List {
	l := widget.NewList(
		func() int { w.mu.Lock(); defer w.mu.Unlock(); return n() },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = trunc
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			w.mu.Lock()
			s := ""
			if i < n() {
				s = line(i)
			}
			w.mu.Unlock()
			o.(*widget.Label).SetText(s)
		})
	if pathOf != nil {
		l.OnSelected = func(i widget.ListItemID) {
			w.mu.Lock()
			p := ""
			if i < n() {
				p = pathOf(i)
			}
			w.mu.Unlock()
			if p != "" {
				w.Open(p)
			}
		}
	}
	return l
}

// Close closes the window and waits for its work to stop.
func (w *Window) Close() {
	w.Window.Close()
	w.stop()
}

// follow keeps the window up to date with the folder sync's events until
// it closes: the folder picker gets folders added or removed (the
// picker's options change, nothing is rebuilt), and when the folder shown
// becomes up to date after syncing, the versions of the file shown are
// read again, off the UI thread, unless one is chosen to be restored (a
// reload would take the choice away).
func (w *Window) follow(ev <-chan api.Event) {
	for {
		var e api.Event
		select {
		case <-w.ctx.Done():
			return
		case x, ok := <-ev:
			if !ok {
				return
			}
			e = x
		}
		w.mu.Lock()
		old, known := w.folders[e.Folder]
		shown, file, chosen := w.folder, w.file, w.chosen
		switch {
		case e.Type == "removed" && known:
			delete(w.folders, e.Folder)
		case e.Status != nil:
			w.folders[e.Status.Name] = *e.Status
		}
		names := make([]string, 0, len(w.folders))
		for n := range w.folders {
			names = append(names, n)
		}
		w.mu.Unlock()
		sort.Strings(names)
		switch {
		case e.Type == "removed" && known:
			// Restore goes off first: whoever sees the picker or the
			// status line say the folder is gone sees it off too.
			if e.Folder == shown {
				w.do(func() { w.Restore.Disable() })
			}
			w.do(func() { w.Folder.SetOptions(names) })
			if e.Folder == shown {
				w.setStatus(fmt.Sprintf("%s is no longer synced on this computer: choose another folder.", e.Folder))
			}
		case e.Status == nil:
		case !known:
			w.do(func() { w.Folder.SetOptions(names) })
			if shown == "" {
				w.do(func() { w.Folder.SetSelected(e.Status.Name) })
			}
		case e.Folder == shown && file != "" && chosen < 0 &&
			old.State != api.UpToDate && e.Status.State == api.UpToDate:
			w.refresh(shown, file)
		}
	}
}

func (w *Window) stop() {
	w.cancel()
	w.busy.Wait()
}

func (w *Window) do(fn func()) { w.widgets.Do(fn) }

func (w *Window) pathText() string {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	return w.Path.Text
}

func (w *Window) setStatus(s string) {
	w.mu.Lock()
	w.status = s
	w.mu.Unlock()
	w.do(func() { w.Status.SetText(s) })
}

// run runs fn off the UI thread; the window waits for it when closed.
func (w *Window) run(fn func()) {
	w.busy.Add(1)
	go func() {
		defer w.busy.Done()
		fn()
	}()
}

// StatusText is what the status line says now.
func (w *Window) StatusText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Matches are the local files the list shows now.
func (w *Window) Matches() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.matches...)
}

// Shown is the file whose versions are listed, and their lines.
func (w *Window) Shown() (file string, lines []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.versions {
		lines = append(lines, Line(v, w.now()))
	}
	return w.file, lines
}

// DeletedPaths are the deleted files the Deleted tab lists now.
func (w *Window) DeletedPaths() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, d := range w.goneShow {
		out = append(out, d.Path)
	}
	return out
}

// DeletedInfoText is what the Deleted tab says above its list.
func (w *Window) DeletedInfoText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.goneMsg
}

// DeletedLoads counts the completed loads of the deleted files.
func (w *Window) DeletedLoads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.goneLoad
}

// SelectDeleted chooses the i-th deleted file listed (as a click does).
func (w *Window) SelectDeleted(i int) {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	w.Deleted.Select(i)
}

// Loads counts the completed version loads (tests wait on it).
func (w *Window) Loads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loads
}

// setFolder shows another folder: its files are read in the background.
func (w *Window) setFolder(name string) {
	w.mu.Lock()
	f, ok := w.folders[name]
	w.folder, w.all, w.matches, w.file, w.versions, w.chosen = name, nil, nil, "", nil, -1
	w.gone, w.goneShow = api.DeletedList{}, nil
	w.mu.Unlock()
	if ok {
		w.run(func() { w.loadDeleted(name) })
	}
	w.run(func() {
		w.do(func() {
			w.Restore.Disable()
			w.Versions.UnselectAll()
			w.Versions.Refresh()
		})
		if !ok {
			return
		}
		files, truncated, err := localFiles(f.Path)
		w.mu.Lock()
		if w.folder != name {
			w.mu.Unlock()
			return
		}
		w.all = files
		w.mu.Unlock()
		switch {
		case err != nil:
			w.setStatus(fmt.Sprintf("Could not read the folder %s (%s): %v. You can still type a file's path.", name, f.Path, err))
		case truncated:
			w.setStatus(fmt.Sprintf("%s has more than %d files; only the first %d are searched. Type a path to see any file.", name, maxFiles, maxFiles))
		}
		w.filter()
	})
}

// loadDeleted asks the grid for the folder's deleted files.
func (w *Window) loadDeleted(name string) {
	w.setDeletedInfo(name, "Asking the grid for the deleted files…")
	l, err := w.b.Deleted(w.ctx, name, "")
	var msg string
	switch {
	case errors.Is(err, api.ErrNoGrid):
		msg = fmt.Sprintf("Cannot ask the grid for the deleted files of %s now (%v). Open the folder again when it is online, or type a deleted file's path.", name, err)
	case err != nil:
		msg = fmt.Sprintf("Could not list the deleted files of %s: %v. You can still type a deleted file's path.", name, err)
	case len(l.Files) == 0:
		msg = NoDeleted
	case l.Truncated:
		msg = fmt.Sprintf("Only the %d most recently deleted files are listed; there may be more. Type an older one's path to see it.", len(l.Files))
	case len(l.Files) == 1:
		msg = "1 deleted file kept. Pick it to see its versions."
	default:
		msg = fmt.Sprintf("%d deleted files kept, newest first. Pick one to see its versions.", len(l.Files))
	}
	w.mu.Lock()
	if w.folder != name {
		w.mu.Unlock()
		return
	}
	w.gone = l
	w.goneLoad++
	w.mu.Unlock()
	w.setDeletedInfo(name, msg)
	w.filter()
}

func (w *Window) setDeletedInfo(folder, s string) {
	w.mu.Lock()
	if w.folder != folder {
		w.mu.Unlock()
		return
	}
	w.goneMsg = s
	w.mu.Unlock()
	w.do(func() { w.DeletedInfo.SetText(s) })
}

// DeletedLine is how a deleted file is listed.
func DeletedLine(d api.DeletedFile, now time.Time) string {
	var b strings.Builder
	b.WriteString(d.Path)
	b.WriteString(" — deleted")
	if !d.Deleted.IsZero() {
		b.WriteString(" " + ui.When(d.Deleted, now))
	}
	if d.By != "" {
		b.WriteString(" by " + d.By)
	}
	fmt.Fprintf(&b, ", %s", ui.Bytes(max(d.Size, 0)))
	return b.String()
}

// localFiles lists the regular files under root as slash paths, sorted,
// leaving out the engine's temporary files.
func localFiles(root string) (files []string, truncated bool, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ignore.TempPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(files) >= maxFiles {
			truncated = true
			return filepath.SkipAll
		}
		if rel, err := filepath.Rel(root, p); err == nil {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, truncated, err
}

// filter shows the local files whose path contains the search text.
func (w *Window) filter() {
	q := strings.ToLower(strings.TrimSpace(w.pathText()))
	w.mu.Lock()
	var m []string
	for _, f := range w.all {
		if q == "" || strings.Contains(strings.ToLower(f), q) {
			m = append(m, f)
			if len(m) == maxShown {
				break
			}
		}
	}
	w.matches = m
	var g []api.DeletedFile
	for _, d := range w.gone.Files {
		if q == "" || strings.Contains(strings.ToLower(d.Path), q) {
			g = append(g, d)
			if len(g) == maxDeleted {
				break
			}
		}
	}
	w.goneShow = g
	w.mu.Unlock()
	w.do(func() {
		w.Files.UnselectAll()
		w.Files.Refresh()
		w.Deleted.UnselectAll()
		w.Deleted.Refresh()
	})
}

// clean turns what the user typed into a path inside the folder: slash
// separated, relative (an absolute path inside the folder is accepted).
func clean(root, p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return "", errors.New("type a file's path first")
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("%s is not inside the folder (%s)", p, root)
		}
		p = rel
	}
	p = path.Clean(filepath.ToSlash(p))
	p = strings.TrimPrefix(p, "/")
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%q is not a path inside the folder", p)
	}
	return p, nil
}

// Open lists the versions of a file of the folder shown. It touches no
// widget on the caller's goroutine (so it may be called from a widget's
// callback).
func (w *Window) Open(p string) {
	w.mu.Lock()
	name := w.folder
	root := w.folders[name].Path
	w.mu.Unlock()
	if name == "" {
		w.setStatus(NoFolders)
		return
	}
	rel, err := clean(root, p)
	if err != nil {
		w.setStatus(err.Error())
		return
	}
	w.run(func() {
		w.do(func() { w.Restore.Disable() })
		w.setStatus("Asking the grid for the versions of " + rel + "…")
		w.load(name, rel, "")
	})
}

// load fetches rel's versions and shows them, then note (if any) in the
// status line.
func (w *Window) load(folder, rel, note string) {
	vs, err := w.b.History(w.ctx, folder, rel)
	w.mu.Lock()
	if w.folder != folder {
		w.mu.Unlock()
		return
	}
	w.file, w.versions, w.chosen = rel, vs, -1
	w.loads++
	w.mu.Unlock()
	msg := note
	switch {
	case errors.Is(err, api.ErrNoFolder):
		msg = fmt.Sprintf("The grid keeps no version of %s in %s. Check the path: a deleted file is found by its exact path inside the folder.", rel, folder)
	case errors.Is(err, api.ErrNoGrid):
		msg = fmt.Sprintf("Cannot ask the grid about %s now (%v). Try again when the folder is online.", rel, err)
	case err != nil:
		msg = fmt.Sprintf("Could not list the versions of %s: %v", rel, err)
	case msg == "":
		msg = fmt.Sprintf("%s: %d versions kept. Choose one to restore it.", rel, len(vs))
		if len(vs) == 1 {
			msg = fmt.Sprintf("%s: 1 version kept.", rel)
		}
	}
	w.setStatus(msg)
	w.do(func() {
		w.Versions.UnselectAll()
		w.Versions.Refresh()
		w.Restore.Disable()
	})
}

// refresh reads the versions of file again and shows them, if the window
// still shows that file with no version chosen and no other list came
// meanwhile. The status line stays as it is (it may say what a restore
// did), and a failed read changes nothing: the list shown stays.
func (w *Window) refresh(folder, file string) {
	w.mu.Lock()
	loads := w.loads
	w.mu.Unlock()
	vs, err := w.b.History(w.ctx, folder, file)
	if err != nil {
		return
	}
	w.mu.Lock()
	if w.folder != folder || w.file != file || w.chosen >= 0 || w.loads != loads {
		w.mu.Unlock()
		return
	}
	w.versions = vs
	w.mu.Unlock()
	w.do(func() { w.Versions.Refresh() })
}

// Line is how a version is listed.
func Line(v api.Version, now time.Time) string {
	var b strings.Builder
	if v.N == 0 && !v.Deleted {
		b.WriteString("Current version")
	} else {
		fmt.Fprintf(&b, "Version %d", v.N)
	}
	fmt.Fprintf(&b, " — %s", ui.Bytes(max(v.Size, 0)))
	if !v.Mtime.IsZero() {
		fmt.Fprintf(&b, ", modified %s", ui.When(v.Mtime, now))
	}
	if v.By != "" {
		fmt.Fprintf(&b, ", by %s", v.By)
	}
	switch {
	case v.Deleted && !v.Replaced.IsZero():
		fmt.Fprintf(&b, " — deleted %s", ui.When(v.Replaced, now))
	case v.Deleted:
		b.WriteString(" — deleted")
	case !v.Replaced.IsZero():
		fmt.Fprintf(&b, " — replaced %s", ui.When(v.Replaced, now))
	}
	return b.String()
}

// SelectVersion chooses the i-th version listed (as a click on it does).
func (w *Window) SelectVersion(i int) {
	w.widgets.Lock()
	defer w.widgets.Unlock()
	w.Versions.Select(i)
}

// choose is a click on a version: on the UI thread (with w.widgets held when
// it comes from SelectVersion), so it changes widgets directly.
func (w *Window) choose(i widget.ListItemID) {
	w.mu.Lock()
	ok := i >= 0 && i < len(w.versions)
	current := ok && w.versions[i].N == 0
	if ok {
		w.chosen = i
	}
	w.mu.Unlock()
	if !ok {
		return
	}
	if current {
		w.Restore.Disable()
		w.mu.Lock()
		w.status = CurrentNote
		w.mu.Unlock()
		w.Status.SetText(CurrentNote)
		return
	}
	w.Restore.Enable()
}

// restore writes the chosen version back through the engine.
func (w *Window) restore() {
	w.mu.Lock()
	folder, root, rel := w.folder, w.folders[w.folder].Path, w.file
	var v api.Version
	ok := w.chosen >= 0 && w.chosen < len(w.versions)
	if ok {
		v = w.versions[w.chosen]
	}
	w.mu.Unlock()
	if !ok || v.N == 0 {
		return
	}
	w.run(func() {
		w.do(func() { w.Restore.Disable() })
		dest := filepath.Join(root, filepath.FromSlash(rel))
		before := copiesOf(dest)
		to, err := w.b.Restore(w.ctx, folder, api.RestoreRequest{Path: rel, Version: v.N})
		if err != nil {
			w.setStatus(fmt.Sprintf("Version %d of %s was not restored: %v", v.N, rel, err))
			w.do(func() { w.Restore.Enable() })
			return
		}
		msg := fmt.Sprintf("Restored version %d of %s to %s.", v.N, rel, to)
		var made []string
		for c := range copiesOf(to) {
			if !before[c] {
				made = append(made, c)
			}
		}
		sort.Strings(made)
		switch {
		case len(made) > 0:
			msg += fmt.Sprintf(" The file that was there is kept beside it as %s (the Conflicts window lists it).", strings.Join(made, ", "))
		default:
			msg += " There was no file at that name, so nothing else changed."
		}
		msg += " It syncs to your other devices as a new change."
		w.load(folder, rel, msg)
	})
}

// copiesOf is the set of conflict copies of file p in its directory.
func copiesOf(p string) map[string]bool {
	dir, base := filepath.Split(p)
	out := map[string]bool{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		if orig, _, _, ok := conflicts.ParseName(e.Name()); ok && orig == base {
			out[e.Name()] = true
		}
	}
	return out
}
