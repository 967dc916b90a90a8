package folder_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/syncer/folder"
	"github.com/lafssync/lafssync/syncer/remote"
	"github.com/lafssync/lafssync/syncer/remote/gridtest"
)

// A rm -r on this device whose file deletes reach the grid just after
// another device removed the same directory: the deletes find nothing to
// do and the directory stays gone. Before, the commit of the deletes made
// the directory again, and the other devices saw it come back until this
// device's directory pass removed it once more (found by sampling the
// directory model test, seed 29).
func TestRemovedDirectoryDoesNotComeBackForLateDeletes(t *testing.T) {
	g := gridtest.New(10)
	a := newFolder(t, g, "deviceA")
	a.write("d/f.txt", "f")
	a.write("keep.txt", "k")
	a.waitGrid("d/f.txt", "f")
	a.waitSettled()

	other, err := remote.Open(context.Background(), g, a.cap, "deviceC")
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var after []bool // whether the grid had d after each of A's commits into d
	var mu sync.Mutex
	folder.SetCommitHook(func(ctx context.Context, dir string, published bool) bool {
		if dir != "d" {
			return false
		}
		if !published {
			once.Do(func() {
				// deviceC, a moment earlier, deletes d/f.txt and d.
				es, err := other.List(ctx, "d")
				if err != nil || es["f.txt"] == nil {
					t.Errorf("deviceC lists d: %v", err)
					return
				}
				if _, err := other.Commit(ctx, "d", []remote.Op{{Kind: remote.Delete, Name: "f.txt", Base: es["f.txt"].Meta.Ver}}, remote.Retention{}); err != nil {
					t.Errorf("deviceC deletes d/f.txt: %v", err)
				}
				if _, err := other.Commit(ctx, "", []remote.Op{{Kind: remote.Delete, Name: "d"}}, remote.Retention{}); err != nil {
					t.Errorf("deviceC removes d: %v", err)
				}
			})
			return false
		}
		es, err := other.List(ctx, "")
		mu.Lock()
		after = append(after, err == nil && es["d"] != nil)
		mu.Unlock()
		return false
	})
	t.Cleanup(func() { folder.SetCommitHook(nil) })

	if err := os.RemoveAll(filepath.Join(a.root, "d")); err != nil {
		t.Fatal(err)
	}
	a.waitFor("A's commit into d", func() bool { mu.Lock(); defer mu.Unlock(); return len(after) > 0 })
	a.waitSettled()
	mu.Lock()
	defer mu.Unlock()
	for i, had := range after {
		if had {
			t.Errorf("A's commit %d into d made d again on the grid", i+1)
		}
	}
	if a.gridHas("d") || a.exists("d") {
		t.Errorf("d: on the grid %v, at A %v; want it gone", a.gridHas("d"), a.exists("d"))
	}
	if got, _ := a.read("keep.txt"); got != "k" || !a.gridHas("keep.txt") {
		t.Errorf("keep.txt: %q, on the grid %v", got, a.gridHas("keep.txt"))
	}
}
