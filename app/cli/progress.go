package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// isTerminal reports whether w is a terminal. Tests replace it to force a
// bar onto a buffer.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalFd(f.Fd())
}

// progress draws a one-line transfer bar, redrawn in place with \r:
//
//	uploading  12.0 MiB / 40.0 MiB  30% [=======>                ] 8.1 MiB/s
//
// A nil *progress draws nothing, so callers need not check. It is not safe
// for concurrent use; the io.Reader and io.Writer it counts for are called
// from one goroutine at a time.
type progress struct {
	w       io.Writer
	label   string
	total   int64 // -1 when unknown
	done    int64
	start   time.Time // of the current phase
	drawn   time.Time
	lineLen int
}

// newProgress returns a bar on w, or nil when quiet is set or w is not a
// terminal (a bar in a log file or a pipe is noise).
func newProgress(w io.Writer, quiet bool, label string, total int64) *progress {
	if quiet || !isTerminal(w) {
		return nil
	}
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

// add counts n more bytes, redrawing at most ten times a second.
func (p *progress) add(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.drawn) >= 100*time.Millisecond {
		p.drawn = now
		p.draw()
	}
}

// phase finishes the current line and starts counting again under label
// (an upload reads its input twice: once to hash, once to send).
func (p *progress) phase(label string) {
	if p == nil {
		return
	}
	p.finish()
	p.label, p.done, p.start, p.lineLen = label, 0, time.Now(), 0
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p == nil || p.lineLen < 0 {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
	p.lineLen = -1
}

func (p *progress) draw() {
	line := fmt.Sprintf("%-9s %s", p.label, humanBytes(p.done))
	if p.total > 0 {
		pct := min(100, p.done*100/p.total)
		const width = 24
		fill := int(pct * width / 100)
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		line += fmt.Sprintf(" / %s %3d%% [%s]", humanBytes(p.total), pct, bar)
	}
	if secs := time.Since(p.start).Seconds(); secs >= 0.05 {
		line += fmt.Sprintf(" %s/s", humanBytes(int64(float64(p.done)/secs)))
	}
	// Pad over the tail of a longer previous line (no terminal escapes:
	// they are not understood everywhere).
	pad := ""
	if p.lineLen > len(line) {
		pad = strings.Repeat(" ", p.lineLen-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.lineLen = len(line)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

// progressReader counts what is read through it. A rewind to the start
// after reading begins the next of phases (the last one repeats).
type progressReader struct {
	r      io.ReadSeeker
	p      *progress
	phases []string
	phase  int
	read   int64 // since the last rewind
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.read += int64(n)
	pr.p.add(n)
	return n, err
}

func (pr *progressReader) Seek(off int64, whence int) (int64, error) {
	pos, err := pr.r.Seek(off, whence)
	if err == nil && pos == 0 && pr.read > 0 {
		pr.read = 0
		if pr.phase+1 < len(pr.phases) {
			pr.phase++
		}
		pr.p.phase(pr.phases[pr.phase])
	}
	return pos, err
}

// progressWriter counts what is written through it.
type progressWriter struct {
	w io.Writer
	p *progress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(n)
	return n, err
}
