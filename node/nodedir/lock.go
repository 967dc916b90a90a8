package nodedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the lock's file name inside a node directory.
const LockFile = "lafs.lock"

// Lock is a held lock on a node directory.
type Lock struct {
	dir string
	f   *os.File
}

// HeldError says another process (or another node in this one) holds the
// directory's lock.
type HeldError struct {
	Dir string
	PID int // 0 when the holder has not written it yet
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("LAFS Sync is already running on %s (%s); stop it first or use -d OTHERDIR", e.Dir, who)
}

// ErrHeld matches a *HeldError with errors.Is.
var ErrHeld = errors.New("node directory is in use")

// Is makes errors.Is(err, ErrHeld) true for a *HeldError.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Acquire locks dir (creating it if needed) for this process, or returns
// a *HeldError naming the process that holds it. It never waits.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create node directory %s: %w", dir, err)
	}
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", p, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &HeldError{Dir: dir, PID: readPID(p)}
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := writePID(f); err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("write %s: %w", p, err)
	}
	return &Lock{dir: dir, f: f}, nil
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Release unlocks the directory. The lock file stays (removing it would
// race with a process about to lock it); its PID is cleared. Releasing
// twice is harmless.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Holder is the PID written in dir's lock file (0 if none): who holds
// the lock, or held it last, for messages only.
func Holder(dir string) int { return readPID(filepath.Join(dir, LockFile)) }

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func readPID(p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
