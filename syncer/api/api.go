// Package api is the folder sync's part of the node's web API, mounted at
// /sync/ behind the web API's token, and the JSON documents it speaks
// (the lafs sync commands and the tray app are its clients):
//
//	GET    /sync/folders                       []FolderStatus            (lafs sync list)
//	POST   /sync/folders          AddRequest → FolderStatus              (lafs sync add / follow)
//	GET    /sync/folders/{f}                   FolderStatus              (lafs sync status F)
//	DELETE /sync/folders/{f}?keep_remote=true  204                       (lafs sync remove)
//	POST   /sync/folders/{f}/pause  PauseRequest → FolderStatus          (f = "*": every folder)
//	POST   /sync/folders/{f}/resume            FolderStatus
//	GET    /sync/folders/{f}/share?kind=read|write|snapshot  ShareResponse
//	GET    /sync/folders/{f}/history?path=P    []Version
//	GET    /sync/folders/{f}/deleted?dir=D     DeletedList               (D "": the whole folder)
//	POST   /sync/folders/{f}/restore RestoreRequest → RestoreResponse
//	GET    /sync/events                        text/event-stream of Event
//
// {f} is the folder's name or its local path, path-escaped. Errors are
// {"error": "..."} with 400 (bad request), 404 (no such folder or path),
// 409 (already exists / read-only folder), 503 (no grid).
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these meanings).
package api

import (
	"context"
	"errors"
	"time"
)

// Folder states.
const (
	UpToDate = "up-to-date" // only when the last grid check succeeded and happiness could be met
	Syncing  = "syncing"
	Paused   = "paused"
	Offline  = "offline"
	Error    = "error"
	Starting = "starting" // before the first scan and grid check finished
)

// FolderStatus is one folder's status document.
type FolderStatus struct {
	Name        string      `json:"name"`
	Path        string      `json:"path"`
	Mode        string      `json:"mode"` // "sync" (read-write) or "follow" (read-only mirror)
	State       string      `json:"state"`
	Detail      string      `json:"detail"` // one line in the user's words: "syncing 3 files, 2.1 MB of 10 MB, about 4 s left"
	Files       int         `json:"files"`
	Bytes       int64       `json:"bytes"`
	Progress    *Progress   `json:"progress,omitempty"`
	PausedUntil *time.Time  `json:"paused_until,omitempty"` // paused with a deadline
	Servers     Servers     `json:"servers"`
	Watcher     string      `json:"watcher"`              // "watching" or "polling"
	LastCheck   *time.Time  `json:"last_check,omitempty"` // last successful grid check
	Conflicts   []Conflict  `json:"conflicts"`
	Errors      []FileError `json:"errors"`
	Skipped     []Skipped   `json:"skipped"`
	// LocalChangesIgnored counts local edits a follower did not upload.
	LocalChangesIgnored int `json:"local_changes_ignored,omitempty"`
}

// Progress is a folder's transfer in flight.
type Progress struct {
	Files      int            `json:"files"` // files left to transfer
	DoneBytes  int64          `json:"done_bytes"`
	TotalBytes int64          `json:"total_bytes"`
	ETASeconds float64        `json:"eta_seconds"` // 0 when unknown
	Current    []FileProgress `json:"current,omitempty"`
}

// FileProgress is one file in flight.
type FileProgress struct {
	Path       string  `json:"path"`
	Direction  string  `json:"direction"` // "up" or "down"
	DoneBytes  int64   `json:"done_bytes"`
	TotalBytes int64   `json:"total_bytes"`
	ETASeconds float64 `json:"eta_seconds"`
}

// Servers is the grid as the folder sees it.
type Servers struct {
	Reachable int `json:"reachable"`
	Known     int `json:"known"`
	Happy     int `json:"happy"`
}

// Conflict is a conflict copy the engine made.
type Conflict struct {
	Path string    `json:"path"` // the file
	Copy string    `json:"copy"` // its conflict copy, NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT
	Time time.Time `json:"time"`
}

// FileError is a file that does not sync, and what to do.
type FileError struct {
	Path  string    `json:"path"`
	Error string    `json:"error"`
	Hint  string    `json:"hint"` // what to do
	Time  time.Time `json:"time"`
}

// Skipped is a path never synced, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// AddRequest adds a folder. Exactly one of To and Follow may be set.
type AddRequest struct {
	Path   string `json:"path"`   // absolute local directory (made if missing)
	Name   string `json:"name"`   // default: the directory's base name
	To     string `json:"to"`     // join this existing folder (its write cap)
	Follow string `json:"follow"` // mirror this read cap read-only
}

// PauseRequest pauses for a while (0: until resumed).
type PauseRequest struct {
	ForSeconds float64 `json:"for_seconds"`
}

// ShareResponse is a cap to share.
type ShareResponse struct {
	Kind string `json:"kind"` // read, write, snapshot
	Cap  string `json:"cap"`
}

// Version is one previous version of a file (N = 0 is the current one).
type Version struct {
	N        int       `json:"n"`
	Size     int64     `json:"size"`
	Mtime    time.Time `json:"mtime"`
	By       string    `json:"by"`
	Replaced time.Time `json:"replaced"`
	Deleted  bool      `json:"deleted"`
}

// DeletedFile is a deleted file whose versions the grid keeps: History
// lists them (its path need not exist), Restore brings one back.
type DeletedFile struct {
	Path     string    `json:"path"`    // slash path in the folder
	Deleted  time.Time `json:"deleted"` // when it was deleted (zero: not recorded)
	By       string    `json:"by"`      // the device that deleted it
	Size     int64     `json:"size"`    // its last version's size
	Mtime    time.Time `json:"mtime"`   // its last version's modification time
	Versions int       `json:"versions"`
}

// DeletedList is the deleted files in a directory of a folder and its
// subdirectories, newest delete first. Truncated: there may be more than
// listed (at most Limit files, and a bounded number of directories are
// read).
type DeletedList struct {
	Dir       string        `json:"dir"` // "": the whole folder
	Files     []DeletedFile `json:"files"`
	Truncated bool          `json:"truncated"`
	Limit     int           `json:"limit"`
}

// RestoreRequest restores a previous version (Version 0 or 1: the most
// recent previous one) to To ("" = the file's own path; an existing
// local file is kept as a conflict copy, never overwritten).
type RestoreRequest struct {
	Path    string `json:"path"`
	Version int    `json:"version"`
	To      string `json:"to"`
}

// RestoreResponse says where the version was written.
type RestoreResponse struct {
	Path string `json:"path"`
}

// Event is one server-sent event: the folder's new status (event
// "status"), or a conflict, an error, a removal ("conflict", "error",
// "removed").
type Event struct {
	Type     string        `json:"type"`
	Folder   string        `json:"folder"`
	Status   *FolderStatus `json:"status,omitempty"`
	Conflict *Conflict     `json:"conflict,omitempty"`
	Error    *FileError    `json:"error,omitempty"`
}

// Manager is what the handler serves; syncer.Manager implements it.
type Manager interface {
	List() []FolderStatus
	Add(ctx context.Context, r AddRequest) (FolderStatus, error)
	Status(folder string) (FolderStatus, error)
	Remove(ctx context.Context, folder string, keepRemote bool) error
	Pause(folder string, d time.Duration) error
	Resume(folder string) error
	Share(ctx context.Context, folder, kind string) (string, error)
	History(ctx context.Context, folder, path string) ([]Version, error)
	// Deleted lists the deleted files under dir ("": the whole folder).
	Deleted(ctx context.Context, folder, dir string) (DeletedList, error)
	Restore(ctx context.Context, folder string, r RestoreRequest) (string, error)
	// Subscribe returns events until cancel is called; a slow subscriber
	// loses intermediate status events, never the latest one.
	Subscribe() (events <-chan Event, cancel func())
}

// Errors the Manager returns that map to status codes (wrap them).
var (
	ErrNoFolder = errors.New("no such folder")          // 404
	ErrExists   = errors.New("folder already exists")   // 409
	ErrReadOnly = errors.New("folder is read-only")     // 409
	ErrBadInput = errors.New("bad request")             // 400
	ErrNoGrid   = errors.New("not connected to a grid") // 503
)
