package ignore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxNameBytes is the longest name most filesystems accept (ext4, APFS,
// NTFS in UTF-16 units is more, but 255 bytes is the common bound).
const maxNameBytes = 255

// reserved are the Windows device names, also with any extension.
var reserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true,
}

// BadName says why rel's last element cannot be synced to every platform
// ("" = fine): reserved names (CON, NUL, COM1…), characters invalid on
// Windows (<>:"\|?* and control characters), a trailing dot or space,
// longer than 255 bytes.
//
// Also a name that is not valid UTF-8 (it has no portable spelling). The
// reasons are sentences for the folder's status, e.g. `name not valid on
// Windows: ends with a dot`.
func BadName(rel string) string {
	name := rel[strings.LastIndexByte(rel, '/')+1:]
	if rel == "" {
		return ""
	}
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Sprintf("name %q is not a file name", name)
	case !utf8.ValidString(name):
		return "name is not valid UTF-8 (it cannot be spelled on other devices): rename it"
	case len(name) > maxNameBytes:
		return fmt.Sprintf("name is too long: %d bytes, at most %d bytes can be synced", len(name), maxNameBytes)
	}
	for _, r := range name {
		switch {
		case r < 0x20:
			return fmt.Sprintf("name not valid on Windows: contains a control character (0x%02X)", r)
		case strings.ContainsRune(`<>:"\|?*`, r):
			return fmt.Sprintf("name not valid on Windows: contains the character %c", r)
		}
	}
	switch name[len(name)-1] {
	case '.':
		return "name not valid on Windows: ends with a dot"
	case ' ':
		return "name not valid on Windows: ends with a space"
	}
	stem := name
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	stem = strings.TrimRight(stem, " ")
	if reserved[strings.ToUpper(stem)] {
		return fmt.Sprintf("name not valid on Windows: %s is a reserved device name", strings.ToUpper(stem))
	}
	return ""
}
