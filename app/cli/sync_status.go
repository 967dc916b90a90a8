package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/syncer/api"
)

func newSyncListCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the synced folders, one line each: name, state, local directory",
		Long: `list prints one line per folder: its name, its state (up-to-date, syncing, paused,
offline, error, starting), its local directory and what it is doing. --json prints the
folders' status documents (docs/webapi.md, Folder sync).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			l, err := s.folders(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSONOut(out, l)
			}
			if len(l) == 0 {
				fmt.Fprintln(out, "No folders are synced yet. Add one with: lafs sync add DIR")
				return nil
			}
			nw, sw := len("NAME"), len("STATE")
			for _, f := range l {
				nw, sw = max(nw, len(f.Name)), max(sw, len(stateWord(f)))
			}
			fmt.Fprintf(out, "%-*s  %-*s  %s\n", nw, "NAME", sw, "STATE", "DIRECTORY")
			for _, f := range l {
				line := fmt.Sprintf("%-*s  %-*s  %s", nw, f.Name, sw, stateWord(f), f.Path)
				if f.Detail != "" {
					line += "  (" + f.Detail + ")"
				}
				fmt.Fprintln(out, line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the folders' status documents as JSON")
	return cmd
}

// stateWord is the state as list shows it: a follower's says so.
func stateWord(f api.FolderStatus) string {
	if f.Mode == "follow" {
		return f.State + " (following)"
	}
	return f.State
}

func newSyncStatusCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [FOLDER] [--json]",
		Short: "Show how a folder (or every folder) is doing: state, transfers, conflicts, errors",
		Long: `status shows FOLDER (a name or local directory), or every folder: its state, what is being
transferred, how many storage servers are reachable, and each conflict, error and skipped
file with its path and what to do. The state is up-to-date only when the last check of the
grid succeeded and enough storage servers were reachable to store new files.
--json prints the status document (one, or a list without FOLDER; docs/webapi.md).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				l, err := s.folders(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSONOut(out, l)
				}
				if len(l) == 0 {
					fmt.Fprintln(out, "No folders are synced yet. Add one with: lafs sync add DIR")
				}
				for i, f := range l {
					if i > 0 {
						fmt.Fprintln(out)
					}
					printFolderStatus(out, f, time.Now())
				}
				return nil
			}
			f, err := s.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Fresh: resolve's list may be a moment old.
			st, err := s.c.Status(cmd.Context(), f.Name)
			if err != nil {
				return s.explain(err)
			}
			if asJSON {
				return writeJSONOut(out, st)
			}
			printFolderStatus(out, st, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status document as JSON")
	return cmd
}

// printFolderStatus prints one folder's status for a person.
func printFolderStatus(w io.Writer, f api.FolderStatus, now time.Time) {
	mode := "synced both ways"
	if f.Mode == "follow" {
		mode = "following read-only: local edits are not uploaded"
	}
	fmt.Fprintf(w, "%s  %s  (%s)\n", f.Name, f.Path, mode)
	// A detail that starts with the state's own word ("syncing: 3 of 10
	// changes sent", "offline — …") is shown alone, not after it again.
	state := f.State
	if strings.HasPrefix(f.Detail, f.State) {
		state = f.Detail
	} else if f.Detail != "" {
		state += ": " + f.Detail
	}
	fmt.Fprintf(w, "  State        %s\n", state)
	if f.PausedUntil != nil {
		fmt.Fprintf(w, "  Paused until %s (resume now: lafs sync resume %s)\n", f.PausedUntil.Local().Format("2006-01-02 15:04:05"), client.ShellQuote(f.Name))
	} else if f.State == api.Paused {
		fmt.Fprintf(w, "  Paused       until resumed: lafs sync resume %s\n", client.ShellQuote(f.Name))
	}
	fmt.Fprintf(w, "  Files        %d (%s)\n", f.Files, sizeText(uint64(max(f.Bytes, 0))))
	if p := f.Progress; p != nil {
		line := fmt.Sprintf("%d files left, %s of %s", p.Files, sizeText(uint64(max(p.DoneBytes, 0))), sizeText(uint64(max(p.TotalBytes, 0))))
		if p.ETASeconds > 0 {
			line += fmt.Sprintf(", about %s left", (time.Duration(p.ETASeconds * float64(time.Second))).Round(time.Second))
		}
		fmt.Fprintf(w, "  Transfers    %s\n", line)
		for _, c := range p.Current {
			dir := "uploading  "
			if c.Direction == "down" {
				dir = "downloading"
			}
			fmt.Fprintf(w, "               %s %s  %s of %s\n", dir, c.Path, sizeText(uint64(max(c.DoneBytes, 0))), sizeText(uint64(max(c.TotalBytes, 0))))
		}
	}
	srv := fmt.Sprintf("%d of %d storage servers reachable (%d needed to store new files)", f.Servers.Reachable, f.Servers.Known, f.Servers.Happy)
	if f.Servers.Happy > 0 && f.Servers.Reachable < f.Servers.Happy {
		srv += ": changes wait until more are back (lafs status shows which)"
	}
	fmt.Fprintf(w, "  Servers      %s\n", srv)
	if f.Watcher != "" {
		watch := f.Watcher
		if f.Watcher == "polling" {
			watch += " (the system's limit on watched directories was reached: local changes are noticed by rescans, more slowly)"
		}
		fmt.Fprintf(w, "  Watcher      %s\n", watch)
	}
	if f.LastCheck != nil {
		fmt.Fprintf(w, "  Grid checked %s ago\n", now.Sub(*f.LastCheck).Round(time.Second))
	} else {
		fmt.Fprintf(w, "  Grid checked not yet\n")
	}
	if f.LocalChangesIgnored > 0 {
		fmt.Fprintf(w, "  Not uploaded %d local changes (this folder is read-only here: move your edits elsewhere to keep them, or they may be replaced by the friend's changes)\n", f.LocalChangesIgnored)
	}
	if len(f.Conflicts) > 0 {
		fmt.Fprintf(w, "  Conflicts    %d: both sides changed these files; the other version was kept beside each. Keep the one you want and delete the other:\n", len(f.Conflicts))
		for _, c := range f.Conflicts {
			fmt.Fprintf(w, "    %s  (other version: %s, %s)\n", c.Path, c.Copy, c.Time.Local().Format("2006-01-02 15:04"))
		}
	}
	if len(f.Errors) > 0 {
		fmt.Fprintf(w, "  Errors       %d files do not sync:\n", len(f.Errors))
		for _, e := range f.Errors {
			line := fmt.Sprintf("    %s: %s", e.Path, e.Error)
			if e.Hint != "" {
				line += " — " + e.Hint
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(w, "  Skipped      %d paths are never synced:\n", len(f.Skipped))
		for _, s := range f.Skipped {
			fmt.Fprintf(w, "    %s: %s\n", s.Path, s.Reason)
		}
	}
	if f.State == api.Offline || f.State == api.Error {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(whatToDo(f)))
	}
}

// whatToDo is the hint for a folder that is offline or in error.
func whatToDo(f api.FolderStatus) string {
	if f.State == api.Offline {
		return "What to do   nothing: the folder syncs again as soon as enough storage servers are reachable (lafs status shows them)"
	}
	return "What to do   see the errors above; the node's log (NODEDIR/logs/lafs.log) has the details"
}
