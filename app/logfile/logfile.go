// Package logfile keeps a running node's log in NODEDIR/logs/lafs.log
// (size-capped: past MaxSize it moves to lafs.log.1, replacing the one
// before) and splits a logger between that file and the terminal: the
// file gets info and above, the terminal only warnings and errors unless
// verbose, so a person sees what needs them and the file keeps the rest.
//
// It does not compress, date or keep more than one old file: the log is
// for looking at what just happened, not an archive.
package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// MaxSize is how large lafs.log grows before it is rotated.
const MaxSize = 10 << 20

// Path is the log file of the node in dir.
func Path(dir string) string { return filepath.Join(dir, "logs", "lafs.log") }

// File is an append-only log file that rotates itself past its cap.
type File struct {
	path string
	max  int64

	mu   sync.Mutex // guards f and size
	f    *os.File
	size int64
}

// Open opens (creating) path for appending, rotating it first if it is
// already past max (MaxSize if max ≤ 0).
func Open(path string, max int64) (*File, error) {
	if max <= 0 {
		max = MaxSize
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	l := &File{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size >= max {
		if err := l.rotate(); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// rotate moves the file to path.1 and starts an empty one. l.mu held.
func (l *File) rotate() error {
	l.f.Close()
	if err := os.Rename(l.path, l.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate log file: %w", err)
	}
	return l.open()
}

// Write appends p (one log record), rotating first if it would pass the cap.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// New returns a logger that writes info and above to file and, to
// terminal, warnings and errors (everything at info and above when
// verbose).
func New(file io.Writer, terminal io.Writer, verbose bool) *slog.Logger {
	termLevel := slog.LevelWarn
	if verbose {
		termLevel = slog.LevelInfo
	}
	return slog.New(split{
		slog.NewTextHandler(file, &slog.HandlerOptions{Level: slog.LevelInfo}),
		slog.NewTextHandler(terminal, &slog.HandlerOptions{Level: termLevel}),
	})
}

// split sends each record to every handler that wants it.
type split []slog.Handler

func (s split) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range s {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (s split) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range s {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (s split) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(split, len(s))
	for i, h := range s {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (s split) WithGroup(name string) slog.Handler {
	out := make(split, len(s))
	for i, h := range s {
		out[i] = h.WithGroup(name)
	}
	return out
}
