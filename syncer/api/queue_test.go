package api

import (
	"fmt"
	"testing"
)

// TestEventQueueBounded: a slow client keeps only the latest status per
// folder, and at most eventBuffer other events (the newest).
func TestEventQueueBounded(t *testing.T) {
	q := newEventQueue(eventBuffer)
	for i := range 1000 {
		q.push(Event{Type: "status", Folder: "docs", Status: &FolderStatus{Name: "docs", Files: i}})
		q.push(Event{Type: "conflict", Folder: "docs", Conflict: &Conflict{Path: fmt.Sprint(i)}})
	}
	q.push(Event{Type: "status", Folder: "photos", Status: &FolderStatus{Name: "photos", Files: 7}})
	evs, closed := q.take()
	if closed || len(evs) > eventBuffer {
		t.Fatalf("%d events queued (closed %v), want at most %d", len(evs), closed, eventBuffer)
	}
	last := map[string]int{}
	conflicts := 0
	for _, ev := range evs {
		switch ev.Type {
		case "status":
			last[ev.Folder] = ev.Status.Files
		case "conflict":
			conflicts++
		}
	}
	if last["docs"] != 999 || last["photos"] != 7 || evs[len(evs)-2].Conflict.Path != "999" {
		t.Errorf("latest statuses %v, last conflict %+v", last, evs[len(evs)-2].Conflict)
	}
	if conflicts < eventBuffer-2 {
		t.Errorf("%d conflicts kept", conflicts)
	}
	q.close()
	if evs, closed := q.take(); !closed || len(evs) != 0 {
		t.Errorf("after close: %d events, closed %v", len(evs), closed)
	}
}
