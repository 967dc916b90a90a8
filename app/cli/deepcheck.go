package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/deepcheck"
)

func newDeepCheckCmd(opts *options) *cobra.Command {
	var verify, repair, asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "deep-check [--verify] [--repair] [--json] [-v] alias:path|CAP",
		Short: "Check every file and directory reachable from a directory; --repair restores what it can",
		Long: `deep-check checks every object reachable from the target (each once, however often
it is linked) and prints a summary like Tahoe's. -v prints a line per object; without
it only problems are listed. --verify reads and checks every block of every share.
--repair regenerates the missing shares of immutable objects and republishes unhealthy
mutable ones; a mutable object reached only through a read-only cap cannot be repaired
(that needs its write cap) and is reported as such. The exit status is 2 when anything
is still unhealthy, or a directory could not be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, root, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			c := &deepcheck.Checker{Imm: e.Imm, Dirs: e.Dirs, Verify: verify, Repair: repair}
			rep, err := c.Run(cmd.Context(), root)
			if err != nil {
				return fmt.Errorf("deep-check %s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printDeepCheck(out, rep, verbose)
			}
			if !rep.OK() {
				return exitError{2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "download and check every block of every share")
	cmd.Flags().BoolVar(&repair, "repair", false, "repair unhealthy objects")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (paths, kinds and storage indexes; no caps)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print a line for every object checked")
	return cmd
}

// printDeepCheck prints per-object lines (all with verbose, else only the
// problems) and the summary. Lines name objects by path, never by cap.
func printDeepCheck(w io.Writer, rep *deepcheck.Report, verbose bool) {
	for _, r := range rep.Results {
		problem := !r.Healthy || r.ListError != "" || r.RepairError != "" || r.NotRepairable != ""
		if !verbose && !problem {
			continue
		}
		if r.Summary != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name(), r.Summary)
		}
		if r.ListError != "" {
			fmt.Fprintf(w, "%s: cannot read directory: %s\n", r.Name(), r.ListError)
		}
		switch {
		case r.RepairAttempted && r.RepairSuccessful:
			fmt.Fprintf(w, "%s: repair successful\n", r.Name())
		case r.RepairAttempted:
			fmt.Fprintf(w, "%s: repair failed: %s\n", r.Name(), r.RepairError)
		case r.NotRepairable != "":
			fmt.Fprintf(w, "%s: not repairable: %s\n", r.Name(), r.NotRepairable)
		}
	}
	fmt.Fprint(w, rep.Summary())
}
