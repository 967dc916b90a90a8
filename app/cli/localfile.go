package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
)

// A download to a local file goes to a hidden partial file beside it
// (".lafs-get-" and random digits, readable only by the user), fsynced,
// then renamed over the file: the file is only ever replaced by a
// complete, verified download. Partial files are removed on error and on
// SIGINT, SIGTERM and SIGHUP; one left by a process killed outright is
// removed by the next download into the same directory once it is older
// than partialMaxAge (a running download writes to its own partial file
// continuously, so it never looks that old).
const (
	partialPrefix = ".lafs-get-"
	partialMaxAge = 15 * time.Minute
)

// partials are this process's partial files, removed on a signal.
var partials partialSet

type partialSet struct {
	mu    sync.Mutex // guards names
	names map[string]bool
}

func (s *partialSet) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
}

func (s *partialSet) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, name)
}

// removeAll deletes every partial file still listed.
func (s *partialSet) removeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.names {
		os.Remove(n)
		delete(s.names, n)
	}
}

// isPartialName reports whether name is one of our partial files:
// the prefix and os.CreateTemp's decimal digits, nothing else.
func isPartialName(name string) bool {
	digits, ok := strings.CutPrefix(name, partialPrefix)
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sweepPartials removes partial files in dir that a killed download left
// behind (older than partialMaxAge). It is best effort.
func sweepPartials(dir string, now time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		if !ent.Type().IsRegular() || !isPartialName(ent.Name()) {
			continue
		}
		if info, err := ent.Info(); err == nil && now.Sub(info.ModTime()) > partialMaxAge {
			os.Remove(filepath.Join(dir, ent.Name()))
		}
	}
}

// signalExit is the exit status for a command ended by sig (128+n, as a
// shell reports it).
func signalExit(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// interruptible runs fn with a context that SIGINT, SIGTERM and SIGHUP
// cancel. After a signal the partial files are removed and the command
// ends with 128+signal (130 for Ctrl-C, 143 for SIGTERM); if fn does not
// return within a few seconds of the signal, the process removes them
// and exits by itself.
func interruptible(cmd *cobra.Command, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	var got os.Signal // written by the goroutine, read after wg.Wait
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case sig := <-sigc:
			got = sig
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				partials.removeAll()
				fmt.Fprintf(cmd.ErrOrStderr(), "lafs %s: stopped (%v); partial downloads removed\n", cmd.Name(), sig)
				os.Exit(signalExit(sig))
			}
		case <-done:
		}
	}()
	err := fn(ctx)
	close(done)
	wg.Wait()
	if got != nil {
		partials.removeAll()
		fmt.Fprintf(cmd.ErrOrStderr(), "lafs %s: stopped (%v); nothing half-written is left behind\n", cmd.Name(), got)
		return exitError{signalExit(got)}
	}
	return err
}

// downloadTo downloads the file c names to the local file outfile
// (through a partial file, see above), counting bytes on bar. Errors
// name outfile, never the partial file.
func downloadTo(ctx context.Context, e *client.Client, c cap.Cap, outfile string, bar *progress) error {
	if st, err := os.Stat(outfile); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory: name the file to write in it, e.g. %s", outfile, filepath.Join(outfile, "NAME"))
	}
	dir := filepath.Dir(outfile)
	sweepPartials(dir, time.Now())
	f, err := os.CreateTemp(dir, partialPrefix+"*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", outfile, pathErr(err))
	}
	tmp := f.Name()
	partials.add(tmp)
	renamed := false
	defer func() {
		f.Close()
		if !renamed {
			os.Remove(tmp)
		}
		partials.remove(tmp)
	}()
	if err := e.Download(ctx, c, progressWriter{outWriter{f, outfile}, bar}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", outfile, pathErr(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", outfile, pathErr(err))
	}
	// Only a complete, verified download replaces OUTFILE.
	if err := os.Rename(tmp, outfile); err != nil {
		return fmt.Errorf("write %s: %w", outfile, pathErr(err))
	}
	renamed = true
	syncDir(dir)
	return nil
}

// outWriter names the file the user asked for in write errors.
type outWriter struct {
	f    *os.File
	name string
}

func (w outWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if err != nil {
		err = fmt.Errorf("write %s: %w", w.name, pathErr(err))
	}
	return n, err
}

// pathErr is the cause of a path or link error, without the path (which
// may be a partial file's).
func pathErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &le):
		return le.Err
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}

// syncDir makes a rename in dir durable (best effort: not every system
// can fsync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
