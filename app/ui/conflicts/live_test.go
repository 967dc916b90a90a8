package conflicts_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/lafssync/lafssync/app/ui/conflicts"
	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/syncer/api"
	"github.com/lafssync/lafssync/syncer/api/apitest"
)

// TestStatusTicksKeepTheCards: the folder's progress events make the
// open window look again, but a conflict that looks the same keeps its
// row and buttons (nothing is built again); one whose file changed shows
// the change.
func TestStatusTicksKeepTheCards(t *testing.T) {
	root := t.TempDir()
	f := apitest.New("Docs")
	st, _ := f.Status("Docs")
	st.Path = root
	f.Set("Docs", st)
	const cp = "plan.sync-conflict-20261202-130405-devB.txt"
	write(t, filepath.Join(root, "plan.txt"), "mine here")
	write(t, filepath.Join(root, cp), "devB's")
	a := test.NewApp()
	defer a.Quit()
	w := conflicts.New(a, f, conflicts.Options{Device: "devA"})
	defer w.Close()
	testkit.WaitFor(t, "the conflict listed", 10*time.Second, func() bool { return len(w.Rows()) == 1 })
	first := w.Rows()[0]
	testkit.WaitFor(t, "a subscriber", 10*time.Second, func() bool { return f.Subscribers() == 1 })

	looks := w.Looks()
	tick := st
	tick.State, tick.Detail = api.Syncing, "syncing: 1 of 2 changes sent to the grid"
	f.Emit(api.Event{Type: "status", Folder: "Docs", Status: &tick})
	testkit.WaitFor(t, "a look after the status event", 10*time.Second, func() bool { return w.Looks() > looks })
	if r := w.Rows()[0]; r.Mine != first.Mine || r.Both != first.Both {
		t.Error("the same conflict's row was built again on a status event")
	}

	write(t, filepath.Join(root, "plan.txt"), "mine here, longer now")
	w.Kick()
	testkit.WaitFor(t, "the changed file shown", 10*time.Second, func() bool {
		rs := w.Rows()
		return len(rs) == 1 && strings.HasPrefix(rs[0].Lines[2], "Mine: plan.txt (21 B, ")
	})
}
