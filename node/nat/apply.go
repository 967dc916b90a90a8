package nat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/ini.v1"

	"github.com/lafssync/lafssync/node/config"
)

// BackupFile is where Apply keeps tahoe.cfg as it was.
const BackupFile = config.File + ".bak"

// Apply makes advice a's changes to DIR/tahoe.cfg: it keeps the file's
// other keys and comments, checks that the result loads as a valid
// configuration before touching the file, copies the old file to
// tahoe.cfg.bak, and replaces tahoe.cfg atomically (a crash leaves the
// old file or the new one, never half of one). The running node takes
// the change when it restarts.
func Apply(dir string, a Advice) error {
	path := filepath.Join(dir, config.File)
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true}, old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range a.Changes {
		f.Section(s.Section).Key(s.Key).SetValue(s.Value)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return err
	}
	if err := validate(buf.Bytes()); err != nil {
		return fmt.Errorf("advice %s would make %s invalid, so it was not applied: %w", a.ID, path, err)
	}
	if err := writeAtomic(filepath.Join(dir, BackupFile), old, st.Mode().Perm()); err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	if err := writeAtomic(path, buf.Bytes(), st.Mode().Perm()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// validate loads cfg as a tahoe.cfg in a scratch directory.
func validate(cfg []byte) error {
	tmp, err := os.MkdirTemp("", "lafs-cfg-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, config.File), cfg, 0o600); err != nil {
		return err
	}
	if _, err := config.Load(tmp); err != nil {
		return err
	}
	if _, err := config.LoadHelper(tmp); err != nil {
		return err
	}
	_, err = config.LoadRelay(tmp)
	return err
}

// writeAtomic replaces path with b: a temporary file beside it, synced,
// then renamed over it.
func writeAtomic(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
