package helper

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// A spool file is NODEDIR/helper/incoming/CLIENT-ID/SI, the ciphertext
// received so far, with SI.json beside it holding the upload's start
// request. A helper restarted within the idle timeout resumes from the
// file's length when the same client starts the same upload again.

// openSpool opens (creating if needed) the spool file of an upload and
// returns how many bytes it already holds.
func openSpool(path string, req StartRequest) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	meta := path + ".json"
	if b, err := os.ReadFile(meta); err == nil {
		var old StartRequest
		if json.Unmarshal(b, &old) == nil && old == req {
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
				return min(info.Size(), req.Size), nil
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	b, _ := json.Marshal(req)
	return 0, os.WriteFile(meta, b, 0o600)
}

// removeSpool removes an upload's spool file and its description.
func removeSpool(path string) {
	os.Remove(path)
	os.Remove(path + ".json")
	os.Remove(filepath.Dir(path)) // the client's directory, once empty
}
