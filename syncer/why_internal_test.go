package syncer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lafssync/lafssync/syncer/api"
)

// TestNotOpenErrorWhileRunFolderWritesWhy: the "not open on the grid yet"
// errors (remoteOf, behind Share/History/Restore/Deleted; each, behind
// Pause/Resume) say why, which runFolder rewrites on every retry. Run with
// -race: reading why outside running.mu is a data race.
func TestNotOpenErrorWhileRunFolderWritesWhy(t *testing.T) {
	r := &running{conf: folderConf{ID: "x", Name: "Docs", Path: "/home/u/Docs"}, why: "starting", done: make(chan struct{})}
	m := &Manager{running: map[string]*running{"x": r}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // as runFolder does while the grid is away
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r.mu.Lock()
			r.why = fmt.Sprintf("cannot open the folder on the grid: try %d", i)
			r.mu.Unlock()
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 500; i++ {
		_, _, err := m.remoteOf("Docs")
		if !errors.Is(err, api.ErrNoGrid) || !strings.Contains(err.Error(), `folder "Docs" is not open on the grid yet (`) {
			t.Fatalf("remoteOf: %v", err)
		}
		if err := m.Pause("Docs", 0); !errors.Is(err, api.ErrNoGrid) || !strings.Contains(err.Error(), `folder "Docs" is not running yet (`) {
			t.Fatalf("Pause: %v", err)
		}
	}
}
