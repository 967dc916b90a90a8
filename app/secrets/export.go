package secrets

import (
	"errors"
	"fmt"
	"os"
)

// ExportTahoe writes the node's Exportable items (the aliases and the web
// API token) to Tahoe's files, 0600, for a stock tahoe CLI pointed at the
// node directory, and records the wish (ExportPath): from then on every
// save writes the files too, and a file a tahoe CLI changed is merged
// back into the keyring. It returns the files that now exist.
func (s *Stores) ExportTahoe(nodeDir string) ([]string, error) {
	note := "The user asked for Tahoe's files (lafs secrets export-tahoe): private/aliases and private/api_auth_token are kept beside the OS keyring. 'lafs secrets export-tahoe --stop' removes them. No secret is in this file.\n"
	if err := writeFile(ExportPath(nodeDir), []byte(note)); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", ExportPath(nodeDir), err)
	}
	var files []string
	for _, item := range []func(string) Item{Aliases, APIToken} {
		st := s.Store(nodeDir, item)
		if _, err := st.Load(); err != nil { // writes the file when exported
			return files, err
		}
		if exists(st.item.File) {
			files = append(files, st.item.File)
		}
	}
	return files, nil
}

// StopExport ends ExportTahoe: the files move back into the keyring and
// are removed once the keyring holds what they hold. It returns the files
// that are left (no keyring answered: they are the only copy).
func (s *Stores) StopExport(nodeDir string) ([]string, error) {
	if err := os.Remove(ExportPath(nodeDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot remove %s: %w", ExportPath(nodeDir), err)
	}
	var left []string
	for _, item := range []func(string) Item{Aliases, APIToken} {
		st := s.Store(nodeDir, item)
		if _, err := st.Load(); err != nil {
			return left, err
		}
		if exists(st.item.File) {
			left = append(left, st.item.File)
		}
	}
	return left, nil
}
