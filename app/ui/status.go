package ui

import (
	"fmt"
	"math"
	"time"

	"github.com/lafssync/lafssync/icons"
	"github.com/lafssync/lafssync/syncer/api"
)

// NoFolders is the status line when nothing is synced yet.
const NoFolders = "No folders yet — add one with lafs sync add DIR"

// attentionWindow is how long a conflict keeps the tray at "attention":
// the folder keeps its last conflicts listed, but one from last week has
// been seen.
const attentionWindow = 24 * time.Hour

// Summary is what the tray shows for all folders at once.
type Summary struct {
	State icons.State
	Line  string // the menu's status line
}

// FolderState is the tray state of one folder. It is honest: a folder is
// up to date only when the engine says so and the grid it last saw could
// place its shares (servers of happiness met).
func FolderState(f api.FolderStatus, now time.Time) icons.State {
	switch f.State {
	case api.Error:
		return icons.Error
	case api.Offline:
		return icons.Offline
	}
	if recentConflicts(f, now) > 0 {
		return icons.Attention
	}
	switch f.State {
	case api.Paused:
		return icons.Paused
	case api.UpToDate:
		if !happy(f.Servers) {
			return icons.Offline
		}
		return icons.UpToDate
	default: // syncing, starting, or a state this build does not know
		return icons.Syncing
	}
}

// happy says whether the servers a folder saw are enough for an upload.
// Happy 0 means the folder has not heard from the grid at all.
func happy(s api.Servers) bool { return s.Happy > 0 && s.Reachable >= s.Happy }

func recentConflicts(f api.FolderStatus, now time.Time) int {
	n := 0
	for _, c := range f.Conflicts {
		if now.Sub(c.Time) < attentionWindow {
			n++
		}
	}
	return n
}

// rank orders the states for "worst wins".
func rank(s icons.State) int {
	switch s {
	case icons.Error:
		return 5
	case icons.Attention:
		return 4
	case icons.Offline:
		return 3
	case icons.Syncing:
		return 2
	case icons.Paused:
		return 1
	}
	return 0
}

// Summarize is the tray's state and status line for these folders: the
// worst folder's state wins (error, attention, offline, syncing, paused,
// up to date).
func Summarize(fs []api.FolderStatus, now time.Time) Summary {
	if len(fs) == 0 {
		return Summary{State: icons.UpToDate, Line: NoFolders}
	}
	worst := icons.UpToDate
	for _, f := range fs {
		if s := FolderState(f, now); rank(s) > rank(worst) {
			worst = s
		}
	}
	var in []api.FolderStatus // the folders in the worst state
	for _, f := range fs {
		if FolderState(f, now) == worst {
			in = append(in, f)
		}
	}
	return Summary{State: worst, Line: statusLine(worst, in, len(fs), now)}
}

func statusLine(s icons.State, in []api.FolderStatus, all int, now time.Time) string {
	switch s {
	case icons.Error:
		if len(in) == 1 {
			return fmt.Sprintf("Error in %s — %s", in[0].Name, in[0].Detail)
		}
		return fmt.Sprintf("Errors in %d folders — open the window for details", len(in))
	case icons.Attention:
		n := 0
		for _, f := range in {
			n += recentConflicts(f, now)
		}
		where := in[0].Name
		if len(in) > 1 {
			where = fmt.Sprintf("%d folders", len(in))
		}
		return fmt.Sprintf("Needs attention — %s in %s (both versions kept)", plural(n, "conflict"), where)
	case icons.Offline:
		return offlineLine(in[0].Servers)
	case icons.Syncing:
		return syncingLine(in)
	case icons.Paused:
		line := "Paused " + pausedUntil(in, now)
		if len(in) < all {
			line += fmt.Sprintf(" — %d of %d folders", len(in), all)
		}
		return line
	}
	return "Up to date — " + plural(all, "folder")
}

// offlineLine says how much of the grid is there.
func offlineLine(s api.Servers) string {
	if s.Known == 0 {
		return "Offline — no storage servers connected"
	}
	return fmt.Sprintf("Offline — %d of %d storage servers reachable", s.Reachable, s.Known)
}

func syncingLine(in []api.FolderStatus) string {
	var files int
	var done, total int64
	var eta float64
	for _, f := range in {
		if p := f.Progress; p != nil {
			files += p.Files
			done += p.DoneBytes
			total += p.TotalBytes
			eta = max(eta, p.ETASeconds)
		}
	}
	if files == 0 && total == 0 {
		starting := true
		for _, f := range in {
			starting = starting && f.State == api.Starting
		}
		if starting {
			return "Starting — scanning and checking the grid"
		}
		if len(in) == 1 {
			return "Syncing " + in[0].Name + "…"
		}
		return fmt.Sprintf("Syncing %d folders…", len(in))
	}
	line := fmt.Sprintf("Syncing %s, %s of %s", plural(files, "file"), Bytes(done), Bytes(total))
	if eta > 0 {
		line += ", about " + Duration(eta) + " left"
	}
	return line
}

// pausedUntil is "until 14:30", "until resumed", "until tomorrow 08:00":
// the latest time any of these folders resumes.
func pausedUntil(in []api.FolderStatus, now time.Time) string {
	var last time.Time
	for _, f := range in {
		if f.PausedUntil == nil {
			return "until resumed"
		}
		if f.PausedUntil.After(last) {
			last = *f.PausedUntil
		}
	}
	return "until " + When(last, now)
}

// When is t for a menu: "14:30" today, "tomorrow 08:00", or "Mon 2 Jan 08:00".
func When(t, now time.Time) string {
	t = t.In(now.Location())
	y1, m1, d1 := t.Date()
	y0, m0, d0 := now.Date()
	switch {
	case y1 == y0 && m1 == m0 && d1 == d0:
		return t.Format("15:04")
	case now.AddDate(0, 0, 1).Format(time.DateOnly) == t.Format(time.DateOnly):
		return "tomorrow " + t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// FolderLabel is a folder's tray menu item: "Docs — up to date".
func FolderLabel(f api.FolderStatus, now time.Time) string {
	var s string
	switch FolderState(f, now) {
	case icons.UpToDate:
		s = "up to date"
	case icons.Syncing:
		s = "syncing"
		if f.State == api.Starting {
			s = "starting"
		} else if p := f.Progress; p != nil && p.Files > 0 {
			s = "syncing " + plural(p.Files, "file")
		}
	case icons.Paused:
		s = "paused"
	case icons.Offline:
		s = "offline"
	case icons.Error:
		s = "error"
	case icons.Attention:
		s = plural(recentConflicts(f, now), "conflict")
	}
	return f.Name + " — " + s
}

// Bytes is n in decimal units: "980 B", "2.1 MB", "12 MB".
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), -1
	for v >= unit && u < 4 {
		v /= unit
		u++
	}
	p := "kMGTP"[u : u+1]
	if v < 10 {
		return fmt.Sprintf("%.1f %sB", v, p)
	}
	return fmt.Sprintf("%.0f %sB", v, p)
}

// Duration is a rough time left: "40 s", "2 min", "3 h".
func Duration(sec float64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%.0f s", math.Ceil(sec))
	case sec < 3600:
		return fmt.Sprintf("%.0f min", math.Ceil(sec/60))
	}
	return fmt.Sprintf("%.0f h", math.Ceil(sec/3600))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
