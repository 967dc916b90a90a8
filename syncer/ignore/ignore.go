// Package ignore decides which paths of a folder are not synced: a
// .lafsignore file at the folder root in gitignore syntax, a built-in list
// of files no one wants synced (.DS_Store, Thumbs.db, desktop.ini, ~$*,
// *.tmp, *.part, *.swp, .~lock.*), the engine's own temp files, and names
// that cannot exist on another device's filesystem (Windows- or
// macOS-invalid names), which are skipped with a reason.
//
// CONTRACT (written by the coordinator before the implementation; the
// implementer may add to it but must keep these signatures and meanings).
package ignore

import "errors"

// FileName is the ignore file at a folder's root.
const FileName = ".lafsignore"

// TempPrefix starts the names of the engine's own temporary files
// (downloads in progress): always ignored, never uploaded.
const TempPrefix = ".lafssync-tmp-"

// Defaults are the built-in patterns.
var Defaults = []string{".DS_Store", "Thumbs.db", "desktop.ini", "~$*", "*.tmp", "*.part", "*.swp", ".~lock.*"}

// Matcher is the rules of one folder.
type Matcher struct{}

// New reads root/.lafsignore (absent is fine) over the defaults.
func New(root string) (*Matcher, error) { return nil, errors.New("ignore.New: not built yet") }

// Reload re-reads .lafsignore (after it changed); a malformed line is
// reported in the error but the other lines still apply.
func (m *Matcher) Reload() error { return errors.New("not built") }

// Ignored says whether rel (slash-separated, relative to the root) is
// ignored. .lafsignore itself is synced (not ignored).
func (m *Matcher) Ignored(rel string, isDir bool) bool { return false }

// BadName says why rel's last element cannot be synced to every platform
// ("" = fine): reserved names (CON, NUL, COM1…), characters invalid on
// Windows (<>:"\|?* and control characters), a trailing dot or space,
// longer than 255 bytes.
func BadName(rel string) string { return "" }

// BadName is the package function, as a method (scan.Ignorer).
func (m *Matcher) BadName(rel string) string { return BadName(rel) }
