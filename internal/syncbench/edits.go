package syncbench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// EditPaths are the files the latency benchmark edits in turn: at the
// folder's top, one level down and two levels down.
var EditPaths = []string{"notes.txt", "docs/report.txt", "docs/2026/plan.txt", "todo.txt"}

// EditSize is the size of every edit's content: above the 55 bytes a
// LIT cap holds, so every edit is a real CHK upload.
const EditSize = 4096

// EditContent is the content of edit n (n = -1: the files' first
// content, before the measured edits).
func EditContent(n int) []byte {
	head := fmt.Sprintf("edit %d of the latency benchmark\n", n)
	b := make([]byte, EditSize)
	copy(b, head)
	if _, err := io.ReadFull(Content(uint64(n+1), 7, EditSize-int64(len(head))), b[len(head):]); err != nil {
		panic(err) // a ChaCha8 stream never ends
	}
	return b
}

// EditPath is the path edit n changes.
func EditPath(n int) string { return EditPaths[(n+len(EditPaths))%len(EditPaths)] }

// WriteEditFiles gives every edit path its first content under dir.
func WriteEditFiles(dir string) error {
	for i, p := range EditPaths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, EditContent(-1-i), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// FirstEditContent is what WriteEditFiles wrote to path p.
func FirstEditContent(p string) []byte {
	for i, q := range EditPaths {
		if q == p {
			return EditContent(-1 - i)
		}
	}
	return nil
}

// Edit rewrites EditPath(n) under dir in place with EditContent(n) and
// closes it; the latency clock starts when it returns.
func Edit(dir string, n int) error {
	f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(EditPath(n))), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(EditContent(n)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hasContent says whether the file at path holds want.
func hasContent(path string, want []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, want)
}
