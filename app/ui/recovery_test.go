package ui

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/ui/uitest"
	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

func testKit(t *testing.T) *recovery.Kit {
	wk, fp := make([]byte, 16), make([]byte, 32)
	rand.Read(wk)
	rand.Read(fp)
	w := "URI:DIR2:" + base32.Encode(wk) + ":" + base32.Encode(fp)
	c, err := cap.Parse(w)
	if err != nil {
		t.Fatal(err)
	}
	return &recovery.Kit{V: recovery.KitVersion, Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Folders: []recovery.Folder{{Name: "notes", Path: "/home/u/notes", Mode: recovery.ModeSync, Cap: w},
			{Name: "friend", Path: "/home/u/friend", Mode: recovery.ModeFollow, Cap: c.ReadOnly().String()}},
		Aliases: map[string]string{"home": w}}
}

var fastParams = recovery.Params{Time: 1, Memory: 256, Threads: 1}

// TestRecoveryKitScreens: the wizard step refuses a weak or mismatched
// passphrase, saves a kit that opens with the typed passphrase and shows
// its QR code; the restore screen says a wrong passphrase is wrong and,
// with the right one, adds the folders to the node.
func TestRecoveryKitScreens(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := a.NewWindow("kit")
	k := testKit(t)
	path := filepath.Join(t.TempDir(), "kit.txt")
	var saved []recovery.Saved
	e := NewKitExport(w, func(context.Context) (*recovery.Kit, error) { return k, nil }, path, fastParams,
		func(s recovery.Saved) { saved = append(saved, s) })
	w.SetContent(e.Content)
	uitest.HasIn(t, e.Content, KitIntro)
	if !e.Save.Disabled() {
		t.Error("Save is enabled with no passphrase")
	}
	test.Type(e.Pass, "password1234")
	if !strings.HasPrefix(e.Strength.Text, "Too weak") || !e.Save.Disabled() {
		t.Errorf("weak: %q, disabled %v", e.Strength.Text, e.Save.Disabled())
	}
	e.Pass.SetText("")
	test.Type(e.Pass, "violet kettle harbour 42 glides")
	test.Type(e.Again, "violet kettle harbour")
	if !strings.Contains(e.Strength.Text, KitMismatch) || !e.Save.Disabled() {
		t.Errorf("mismatch: %q, disabled %v", e.Strength.Text, e.Save.Disabled())
	}
	test.Type(e.Again, " 42 glides")
	if e.Strength.Text != "Strength: strong. " || e.Save.Disabled() {
		t.Errorf("match: %q, disabled %v", e.Strength.Text, e.Save.Disabled())
	}
	test.Tap(e.Save)
	e.working.Wait()
	if !strings.HasPrefix(e.Status.Text, "Saved to ") {
		t.Fatalf("after saving: %q", e.Status.Text)
	}
	if len(saved) != 1 || saved[0].Path != path || saved[0].QR != path+".png" || !e.QR.Visible() || e.QR.File != path+".png" {
		t.Errorf("saved %+v, QR visible %v %q", saved, e.QR.Visible(), e.QR.File)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := recovery.Open(text, "violet kettle harbour 42 glides"); err != nil || len(got.Folders) != 2 || got.Folders[0].Cap != k.Folders[0].Cap {
		t.Fatalf("the saved kit: %v %v", got, err)
	}
	if e.Pass.Text != "" || e.Again.Text != "" {
		t.Error("the passphrase stays in the entries after saving")
	}

	m := apitest.New()
	node := t.TempDir()
	r := NewKitRestore(w, node, m)
	w.SetContent(r.Content)
	uitest.HasIn(t, r.Content, KitRestoreTip)
	test.Type(r.File, path)
	test.Type(r.Pass, "violet kettle harbour 42")
	test.Tap(r.Restore)
	r.working.Wait()
	if !strings.HasPrefix(r.Status.Text, "wrong passphrase") {
		t.Fatalf("a wrong passphrase: %q", r.Status.Text)
	}
	if len(m.List()) != 0 {
		t.Error("a wrong passphrase added folders")
	}
	test.Type(r.Pass, " glides")
	test.Type(r.Into, "/restored")
	test.Tap(r.Restore)
	r.working.Wait()
	if !strings.Contains(r.Status.Text, "notes: syncing again in /restored/notes.") {
		t.Fatalf("restore said %q", r.Status.Text)
	}
	if !strings.Contains(r.Status.Text, "friend: following again into /restored/friend (read-only).") {
		t.Errorf("restore said %q", r.Status.Text)
	}
	if st, err := m.Status("friend"); err != nil || st.Mode != "follow" || st.Path != "/restored/friend" {
		t.Errorf("followed folder on the node: %+v %v", st, err)
	}
	if st, err := m.Status("notes"); err != nil || st.Mode != "sync" || st.Path != "/restored/notes" {
		t.Errorf("synced folder on the node: %+v %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(node, "private", "aliases")); err != nil || !strings.HasPrefix(string(b), "home: URI:DIR2:") {
		t.Errorf("aliases: %q %v", b, err)
	}
	// Pasting the kit's text works as well as its path.
	r.File.SetText(string(text))
	test.Tap(r.Restore)
	r.working.Wait()
	if !strings.Contains(r.Status.Text, "notes: already here, left as it is.") {
		t.Errorf("the pasted kit: %q", r.Status.Text)
	}
}
