package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/node/client"
)

// maxMutableSize bounds what put --mutable reads: a mutable file is
// encoded whole in memory.
const maxMutableSize = 256 << 20

func newPutCmd(opts *options) *cobra.Command {
	var quiet, mut bool
	var format string
	cmd := &cobra.Command{
		Use:   "put [FILE|-] [alias:path|MUTABLE-WRITECAP]",
		Short: "Upload a file; print its cap, and link it at alias:path if given",
		Long: `put uploads FILE (or standard input, for - or no FILE) as an immutable file, prints its
cap, and links it at alias:path if given, making missing parent directories. alias:dir/
(a trailing slash), alias: or an existing directory means into that directory, under
FILE's name: a directory is never replaced by a file. An existing file is replaced.

--mutable uploads a mutable file instead (SDMF, or --format=MDMF) and prints its write cap;
put FILE MUTABLE-WRITECAP replaces the contents of that mutable file (as Tahoe's put).

FILE must be a regular file. If it changes while it is uploaded (its size, modification
time or inode), put starts again once, then fails; nothing is linked from a changed file.
While it runs, a progress bar is drawn on standard error if that is a terminal (not with
--quiet): first while the file is read to derive its convergent key, then while it is
encoded and sent.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := "-"
			if len(args) > 0 {
				src = args[0]
			}
			var to string
			if len(args) == 2 {
				to = args[1]
			}
			mut, f, err := parseFormat(format, mut)
			if err != nil {
				return err
			}
			in, err := openSource(src, cmd.InOrStdin(), opts.nodeDir)
			if err != nil {
				return err
			}
			defer in.close()
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			p := &putter{e: e, cmd: cmd, quiet: quiet, mutable: mut, format: f}
			return p.put(cmd.Context(), in, to)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	cmd.Flags().BoolVar(&mut, "mutable", false, "upload a mutable file (SDMF unless --format=MDMF)")
	cmd.Flags().StringVar(&format, "format", "", "CHK (immutable, the default), SDMF or MDMF (mutable)")
	return cmd
}

// parseFormat reads --format and --mutable: whether the upload is a
// mutable file, and its format.
func parseFormat(format string, mut bool) (bool, cap.Format, error) {
	switch strings.ToUpper(format) {
	case "":
		return mut, cap.SDMF, nil
	case "CHK":
		if mut {
			return false, 0, fmt.Errorf("--format=CHK is immutable: drop --mutable, or use --format=SDMF or MDMF")
		}
		return false, 0, nil
	case "SDMF":
		return true, cap.SDMF, nil
	case "MDMF":
		return true, cap.MDMF, nil
	}
	return false, 0, fmt.Errorf("--format=%s: want CHK, SDMF or MDMF", format)
}

// putter uploads one source and links it.
type putter struct {
	e       *client.Client
	cmd     *cobra.Command
	quiet   bool
	mutable bool
	format  cap.Format // of a mutable file
}

func (p *putter) put(ctx context.Context, in *source, to string) error {
	// Put FILE MUTABLE-WRITECAP: new contents for that mutable file.
	if strings.HasPrefix(to, "URI:") && !strings.Contains(to, "/") {
		if c, err := cap.Parse(to); err == nil && c.IsMutable() && !c.IsDir() {
			return p.replaceMutable(ctx, in, c)
		}
	}
	var target *client.Path
	lo := client.LinkOptions{Name: in.name, IntoDir: true, Replace: dirnode.ReplaceFiles}
	if to != "" {
		var err error
		if target, err = p.e.ParsePath(to); err != nil {
			return err
		}
		// Where it goes is decided before the upload, so a mistake in
		// TO costs nothing; it is decided again after (things change).
		if _, _, err := p.e.LinkTarget(ctx, target, nil, lo); err != nil {
			return p.linkErr(in, err)
		}
	}
	c, size, err := p.upload(ctx, in)
	if err != nil {
		return err
	}
	if target != nil {
		dst, name, err := p.e.LinkTarget(ctx, target, client.CapEntry(c), lo)
		if err != nil {
			return p.linkErr(in, err)
		}
		md := map[string]any{}
		if !c.IsMutable() {
			md["size"] = float64(size)
		}
		// Link refuses a directory made there meanwhile, atomically.
		if _, err := dst.D.Link(ctx, name, c, md, dirnode.ReplaceFiles); err != nil {
			if errors.Is(err, dirnode.ErrIsDirectory) {
				return &client.IsDirError{Path: client.JoinShown(dst.Shown, name)}
			}
			return dst.LinkError(name, err)
		}
	}
	// Printing the cap is what put is for (as in Tahoe).
	fmt.Fprintln(p.cmd.OutOrStdout(), c.String())
	return nil
}

func (p *putter) linkErr(in *source, err error) error {
	var nn *client.NoNameError
	if errors.As(err, &nn) {
		return fmt.Errorf("standard input has no name to link it under in %s: end the target with the name, e.g. %s", nn.Dir, client.JoinShown(nn.Dir, "NAME"))
	}
	return err
}

// upload uploads in (immutable, or a new mutable file), starting again
// once if the file changed under it.
func (p *putter) upload(ctx context.Context, in *source) (cap.Cap, int64, error) {
	for attempt := 1; ; attempt++ {
		c, size, err := p.uploadOnce(ctx, in)
		var ce *changedError
		if !errors.As(err, &ce) {
			return c, size, err
		}
		if attempt == 2 {
			return nil, 0, fmt.Errorf("put %s: %w; it changed again on the second try: upload it when nothing is writing to it (nothing was linked)", in.shown, err)
		}
		fmt.Fprintf(p.cmd.ErrOrStderr(), "lafs: %s changed while it was uploaded (%s): starting again\n", in.shown, ce.what)
		if err := in.reopen(); err != nil {
			return nil, 0, err
		}
	}
}

func (p *putter) uploadOnce(ctx context.Context, in *source) (cap.Cap, int64, error) {
	if p.mutable {
		data, err := in.readAll(maxMutableSize)
		if err != nil {
			return nil, 0, err
		}
		o := p.e.Dirs.Options
		o.Format = p.format
		f, err := mutable.Create(ctx, p.e.Dirs.Servers, data, o)
		if err != nil {
			return nil, 0, fmt.Errorf("upload %s: %w", in.shown, err)
		}
		if err := in.unchanged(); err != nil {
			return nil, 0, err
		}
		c, err := cap.Parse(f.WriteCap())
		return c, int64(len(data)), err
	}
	var r io.ReadSeeker = in
	var bar *progress
	if in.size > chk.LITThreshold {
		// Upload reads the file twice when the key is convergent.
		phases := []string{"uploading"}
		if p.e.Imm.Convergence != nil {
			phases = []string{"hashing", "uploading"}
		}
		bar = newProgress(p.cmd.ErrOrStderr(), p.quiet, phases[0], in.size)
		r = &progressReader{r: in, p: bar, phases: phases}
	}
	up, err := p.e.Imm.Upload(ctx, r)
	bar.finish() // before anything else is printed
	// A change may also be why the upload failed (the uploader need not
	// pass the Seek error on as it is).
	if cerr := in.unchanged(); cerr != nil {
		err = cerr
	}
	var ce *changedError
	switch {
	case errors.As(err, &ce):
		return nil, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("upload %s: %w", in.shown, err)
	}
	return up.Cap, up.Bytes, nil
}

// replaceMutable publishes in as the new contents of the mutable file c.
func (p *putter) replaceMutable(ctx context.Context, in *source, c cap.Cap) error {
	if c.IsReadOnly() {
		return fmt.Errorf("%s is a read-only cap: replacing a mutable file's contents needs its write cap", cap.Redacted(c))
	}
	for attempt := 1; ; attempt++ {
		data, err := in.readAll(maxMutableSize)
		if err != nil {
			return err
		}
		if err = in.unchanged(); err == nil {
			f, err := mutable.Open(c.String(), p.e.Dirs.Servers, p.e.Dirs.Options)
			if err != nil {
				return err
			}
			if _, err := f.Replace(ctx, data, mutable.Version{}); err != nil {
				return fmt.Errorf("replace the contents of %s with %s: %w", cap.Redacted(c), in.shown, err)
			}
			fmt.Fprintln(p.cmd.OutOrStdout(), c.String())
			return nil
		}
		if attempt == 2 {
			return fmt.Errorf("put %s: %w; it changed again on the second try", in.shown, err)
		}
		if err := in.reopen(); err != nil {
			return err
		}
	}
}

// source is what put reads: a regular file, or standard input (spooled
// to a private temporary file when it cannot seek, as an immutable upload
// reads its input twice).
type source struct {
	*os.File
	path  string // "" for standard input
	shown string // for messages: the path as typed, or "standard input"
	name  string // the name to link under ("" for standard input)
	size  int64
	st    os.FileInfo // when opened, for detecting changes
	spool string      // the spool file to remove, if any
	read  int64       // bytes read since the last rewind
}

// onRewind, if set, is called when an upload rewinds its source after
// reading from it (between the hashing and the sending pass). Tests
// change the file there.
var onRewind func(path string)

func (s *source) Read(b []byte) (int, error) {
	n, err := s.File.Read(b)
	s.read += int64(n)
	return n, err
}

// openSource opens FILE for put, refusing what is not a regular file.
func openSource(path string, stdin io.Reader, nodeDir string) (*source, error) {
	if path == "-" {
		return spoolStdin(stdin, nodeDir)
	}
	s := &source{path: path, shown: path, name: filepath.Base(path)}
	return s, s.open()
}

func (s *source) open() error {
	// Stat before opening: opening a FIFO would wait for a writer.
	st, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if err := regular(s.path, st); err != nil {
		return err
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return err
	}
	if err := regular(s.path, st); err != nil {
		f.Close()
		return err
	}
	s.File, s.st, s.size = f, st, st.Size()
	return nil
}

// regular refuses anything but a regular file, saying what it is.
func regular(path string, st os.FileInfo) error {
	m := st.Mode()
	if m.IsRegular() {
		return nil
	}
	var what string
	switch {
	case m.IsDir():
		return fmt.Errorf("%s is a directory: put uploads one file; to copy a directory use 'lafs cp -r %s alias:path'", path, client.ShellQuote(path))
	case m&os.ModeCharDevice != 0:
		what = "a character device"
	case m&os.ModeDevice != 0:
		what = "a block device"
	case m&os.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&os.ModeSocket != 0:
		what = "a socket"
	default:
		what = "not a regular file"
	}
	return fmt.Errorf("%s is %s, not a regular file: put uploads regular files (to upload a stream, pipe it in: ... | lafs put - alias:NAME)", path, what)
}

// spoolStdin makes standard input seekable.
func spoolStdin(stdin io.Reader, nodeDir string) (*source, error) {
	s := &source{shown: "standard input"}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekCurrent); err == nil {
				s.File, s.size = f, st.Size()
				return s, nil
			}
		}
	}
	tmp := filepath.Join(nodeDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("spool standard input: %w", err)
	}
	f, err := os.CreateTemp(tmp, ".lafs-put-*")
	if err != nil {
		return nil, fmt.Errorf("spool standard input: %w", err)
	}
	s.spool = f.Name()
	n, err := io.Copy(f, stdin)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(s.spool)
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	s.File, s.size = f, n
	return s, nil
}

func (s *source) close() {
	if s.File != nil {
		s.File.Close()
	}
	if s.spool != "" {
		os.Remove(s.spool)
	}
}

func (s *source) reopen() error {
	if s.path == "" {
		_, err := s.Seek(0, io.SeekStart)
		return err
	}
	s.File.Close()
	return s.open()
}

// readAll reads the whole source, at most limit bytes.
func (s *source) readAll(limit int64) ([]byte, error) {
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if s.size > limit {
		return nil, fmt.Errorf("%s is %d bytes: a mutable file is encoded in memory, up to %d MiB (upload it as an immutable file)", s.shown, s.size, limit>>20)
	}
	b, err := io.ReadAll(io.LimitReader(s, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.shown, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d MiB: a mutable file is encoded in memory (upload it as an immutable file)", s.shown, limit>>20)
	}
	return b, nil
}

// Seek checks, on every rewind (an upload's second pass begins with
// one), that the file is as it was when opened.
func (s *source) Seek(off int64, whence int) (int64, error) {
	if off == 0 && whence == io.SeekStart {
		if s.read > 0 && onRewind != nil {
			onRewind(s.path)
		}
		s.read = 0
		if err := s.unchanged(); err != nil {
			return 0, err
		}
	}
	return s.File.Seek(off, whence)
}

// changedError is a source that changed while it was read.
type changedError struct{ path, what string }

func (e *changedError) Error() string {
	return fmt.Sprintf("%s changed while it was being uploaded (%s)", e.path, e.what)
}

// unchanged checks the file (and what its path names now) against what
// was opened: size, modification time, inode.
func (s *source) unchanged() error {
	if s.st == nil {
		return nil // standard input, read once
	}
	now, err := s.File.Stat()
	if err != nil {
		return err
	}
	if what := changed(s.st, now); what != "" {
		return &changedError{s.shown, what}
	}
	if st, err := os.Stat(s.path); err != nil || !os.SameFile(s.st, st) {
		return &changedError{s.shown, "replaced by another file"}
	} else if what := changed(s.st, st); what != "" {
		return &changedError{s.shown, what}
	}
	return nil
}

func changed(a, b os.FileInfo) string {
	switch {
	case a.Size() != b.Size():
		return fmt.Sprintf("size %d, then %d bytes", a.Size(), b.Size())
	case !a.ModTime().Equal(b.ModTime()):
		return "modified"
	case !os.SameFile(a, b):
		return "replaced by another file"
	}
	return ""
}
