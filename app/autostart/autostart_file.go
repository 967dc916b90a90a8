//go:build !windows

package autostart

import "os"

// On macOS and the freedesktop systems the entry is one file in the
// user's folders; each OS's file says where it is (entryFile), what is in
// it (encodeEntry) and how to read it back (parseEntry).

// Enable writes the entry file (whole, so a crash leaves the old entry or
// the new one); it takes effect at the next login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	p, err := entryFile()
	if err != nil {
		return err
	}
	data, err := encodeEntry(e)
	if err != nil {
		return err
	}
	return writeFile(p, data, 0o644)
}

// Disable removes the entry file.
func Disable() error {
	p, err := entryFile()
	if err != nil {
		return err
	}
	return removeFile(p)
}

// Get reads the entry file; none there is off.
func Get() (Status, error) {
	p, err := entryFile()
	if err != nil {
		return Status{}, err
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return Status{Where: p}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return parseEntry(p, b)
}
