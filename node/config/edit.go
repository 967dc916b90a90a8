package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/internal/atomicfile"
)

// BackupFile is where Edit keeps tahoe.cfg as it was before its last
// change.
const BackupFile = File + ".bak"

// Setting is one tahoe.cfg key to set.
type Setting struct {
	Section string `json:"section"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

func (s Setting) String() string { return fmt.Sprintf("[%s] %s = %s", s.Section, s.Key, s.Value) }

// InvalidError says an edit would have made tahoe.cfg invalid; nothing
// was written.
type InvalidError struct {
	Path string
	Err  error // what the loader found, naming the setting (often an *Error)
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("the change would make %s invalid, so it was not made: %v", e.Path, e.Err)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Edit sets each of changes in DIR/tahoe.cfg and returns those that
// changed a value (a key already set to the same text is left alone; when
// none changes, the file is not touched). It keeps the file's other keys
// and comments, checks that the result loads as a valid configuration
// (Load, LoadHelper, LoadRelay) before touching the file, copies the old
// file to tahoe.cfg.bak, and replaces tahoe.cfg atomically: a crash
// leaves the old file or the new one, never half of one. On any error
// tahoe.cfg is as it was. A running node takes the change when it
// restarts.
//
// Edit does not lock the file against another writer (lafs reachability
// --apply at the same moment): the last one wins, whole.
func Edit(dir string, changes []Setting) ([]Setting, error) {
	path := filepath.Join(dir, File)
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: create the node with 'lafs create-node %s'", path, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, old)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var changed []Setting
	for _, s := range changes {
		k := f.Section(s.Section).Key(s.Key)
		if f.Section(s.Section).HasKey(s.Key) && strings.TrimSpace(k.String()) == s.Value {
			continue
		}
		k.SetValue(s.Value)
		changed = append(changed, s)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	if err := Validate(buf.Bytes()); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.Path = path // the scratch copy's name means nothing to the user
		}
		return nil, &InvalidError{Path: path, Err: err}
	}
	if err := atomicfile.Write(filepath.Join(dir, BackupFile), old, st.Mode().Perm()); err != nil {
		return nil, fmt.Errorf("back up %s: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes(), st.Mode().Perm()); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return changed, nil
}

// Validate loads cfg as a tahoe.cfg, in a scratch directory, with every
// loader of this package that reads tahoe.cfg. A *Error it returns names
// the scratch file; Edit puts the real path in.
func Validate(cfg []byte) error {
	tmp, err := os.MkdirTemp("", "lafs-cfg-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, File), cfg, 0o600); err != nil {
		return err
	}
	if _, err := Load(tmp); err != nil {
		return err
	}
	if _, err := LoadHelper(tmp); err != nil {
		return err
	}
	_, err = LoadRelay(tmp)
	return err
}
