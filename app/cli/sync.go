package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/secrets"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/syncer/api"
)

func newSyncCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Keep local folders in step with the grid: add, follow, list, status, pause, share, history, restore",
		Long: `The folder sync runs inside the node (lafs daemon, lafs run, or the tray app); these commands
talk to the running node through its web API. A folder is kept in step with its own grid
directory on every device that has its write cap, instantly in both directions; a friend
can follow it read-only with its read cap.

FOLDER is a folder's name or its local path. Start with: lafs sync add DIR`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newSyncAddCmd(opts),
		newSyncFollowCmd(opts),
		newSyncListCmd(opts),
		newSyncStatusCmd(opts),
		newSyncPauseCmd(opts),
		newSyncResumeCmd(opts),
		newSyncRemoveCmd(opts),
		newSyncShareCmd(opts),
		newSyncHistoryCmd(opts),
		newSyncRestoreCmd(opts),
	)
	return cmd
}

// syncTimeout bounds one request to the node (adding a folder makes its
// grid directory; restoring writes a whole file).
const syncTimeout = 10 * time.Minute

// syncConn is a lafs sync command's connection to the running node.
type syncConn struct {
	c       *api.Client
	nodeDir string
}

// noNodeError is the error for every lafs sync command when no node runs.
type noNodeError struct{ nodeDir string }

func (e *noNodeError) Error() string {
	return fmt.Sprintf("No LAFS Sync node is running for %s. Start one with: lafs daemon (or make run)", e.nodeDir)
}

func noNode(nodeDir string) error { return &noNodeError{nodeDir} }

// failed is err explained, after what failed (what) unless no node runs:
// that needs no context.
func (s *syncConn) failed(what string, err error) error {
	err = s.explain(err)
	var nn *noNodeError
	if errors.As(err, &nn) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// dialSync finds the running node of opts.nodeDir.
func dialSync(opts *options) (*syncConn, error) {
	b, err := os.ReadFile(filepath.Join(opts.nodeDir, "node.url"))
	if err != nil {
		return nil, noNode(opts.nodeDir)
	}
	token, err := readToken(opts.nodeDir)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSpace(string(b))
	return &syncConn{c: api.NewClient(base, token, &http.Client{Timeout: syncTimeout}), nodeDir: opts.nodeDir}, nil
}

// readToken reads the web API's token (the OS keyring or its file:
// client.ReadToken); unlike webapi.LoadToken it never makes one (a new
// token would not be the running node's).
func readToken(nodeDir string) (string, error) {
	tok, err := client.ReadToken(nodeDir)
	if err != nil {
		return "", err
	}
	if tok == "" {
		if why := tokenUnreachable(nodeDir); why != "" {
			return "", fmt.Errorf("the running node's web API token is in the OS keyring (service %q), but %s: unlock the keyring and try again", secrets.Service, why)
		}
		return "", noNode(nodeDir)
	}
	return tok, nil
}

// explain turns a failed request into what the user should know.
func (s *syncConn) explain(err error) error {
	if err == nil {
		return nil
	}
	var oe *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &oe) && oe.Op == "dial" {
		return noNode(s.nodeDir)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.Status == http.StatusUnauthorized:
			return fmt.Errorf("the node in %s refused this command's API token: %s. Is another node using this node directory's node.url?", s.nodeDir, re.Message)
		case re.Code == api.CodeStarting:
			return fmt.Errorf("%s (node in %s); try again in a moment", re.Message, s.nodeDir)
		case errors.Is(err, api.ErrStarting):
			return fmt.Errorf("%s (node in %s)", re.Message, s.nodeDir)
		case errors.Is(err, api.ErrNoGrid):
			return fmt.Errorf("%s: the node is not connected to enough storage servers (lafs status shows them); the folder sync retries on its own", re.Message)
		case errors.Is(err, api.ErrBadInput):
			// "bad request: …" is the API's kind of error, which the rest
			// of the message says in the user's words.
			return plainError{msg: strings.TrimPrefix(re.Message, api.ErrBadInput.Error()+": "), err: err}
		}
	}
	return err
}

// plainError is err said as msg.
type plainError struct {
	msg string
	err error
}

func (e plainError) Error() string { return e.msg }
func (e plainError) Unwrap() error { return e.err }

// folders lists the folders.
func (s *syncConn) folders(ctx context.Context) ([]api.FolderStatus, error) {
	l, err := s.c.List(ctx)
	return l, s.explain(err)
}

// resolve finds the folder arg names: a folder's name, or a local path
// (made absolute here) of a folder. Unknown: an error that says so.
func (s *syncConn) resolve(ctx context.Context, arg string) (api.FolderStatus, error) {
	l, err := s.folders(ctx)
	if err != nil {
		return api.FolderStatus{}, err
	}
	for _, f := range l {
		if f.Name == arg {
			return f, nil
		}
	}
	if abs, err := filepath.Abs(arg); err == nil {
		for _, f := range l {
			if samePath(f.Path, abs) {
				return f, nil
			}
		}
		for _, f := range l {
			if samePath(realPath(f.Path), realPath(abs)) {
				return f, nil
			}
		}
	}
	return api.FolderStatus{}, fmt.Errorf("%q is not a synced folder's name or directory: lafs sync list shows them (add one with lafs sync add DIR)", arg)
}

// within finds the synced folder holding local path p and p's
// slash-separated path inside it. Symbolic links on either side are
// followed when the paths as given do not match.
func (s *syncConn) within(ctx context.Context, p string) (api.FolderStatus, string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return api.FolderStatus{}, "", err
	}
	l, err := s.folders(ctx)
	if err != nil {
		return api.FolderStatus{}, "", err
	}
	f, rel, ok := longestWithin(l, abs, func(p string) string { return p })
	if !ok {
		f, rel, ok = longestWithin(l, abs, realPath)
	}
	if !ok {
		return api.FolderStatus{}, "", fmt.Errorf("%s is not inside a synced folder (lafs sync list shows them)", abs)
	}
	if rel == "." {
		return api.FolderStatus{}, "", fmt.Errorf("%s is the folder %s itself: give the path of a file in it", abs, f.Name)
	}
	return f, filepath.ToSlash(rel), nil
}

// longestWithin is the folder of l with the longest path holding abs,
// both seen through fix, and abs relative to it.
func longestWithin(l []api.FolderStatus, abs string, fix func(string) string) (api.FolderStatus, string, bool) {
	best, rel := -1, ""
	abs = fix(abs)
	for i, f := range l {
		r, err := filepath.Rel(fix(f.Path), abs)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
			continue
		}
		if best < 0 || len(f.Path) > len(l[best].Path) {
			best, rel = i, r
		}
	}
	if best < 0 {
		return api.FolderStatus{}, "", false
	}
	return l[best], rel, true
}

// realPath is p with symbolic links resolved, as far as p exists (a
// deleted file's history is asked for by a path that no longer does).
func realPath(p string) string {
	rest := ""
	for q := p; ; {
		if r, err := filepath.EvalSymlinks(q); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(q)
		if parent == q {
			return p
		}
		rest = filepath.Join(filepath.Base(q), rest)
		q = parent
	}
}

func samePath(a, b string) bool {
	return filepath.Clean(a) == filepath.Clean(b)
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
