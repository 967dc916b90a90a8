package cli

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
)

func newGetCmd(opts *options) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "get CAP|alias:path [OUTFILE]",
		Short: "Download a file to OUTFILE (default: standard output)",
		Long: `get downloads a file to OUTFILE, which only a complete, verified download replaces, or
to standard output. A progress bar is drawn on standard error if that is a terminal and
the file is not being written to the same terminal (not with --quiet).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			total := int64(-1) // unknown for mutable files
			if n := cap.Describe(c).Size; n != nil {
				total = *n
			}
			var bar *progress
			if len(args) == 2 || !isTerminal(cmd.OutOrStdout()) {
				bar = newProgress(cmd.ErrOrStderr(), quiet, "receiving", total)
				defer bar.finish()
			}
			var out io.Writer = progressWriter{cmd.OutOrStdout(), bar}
			if len(args) == 2 {
				f, err := os.CreateTemp(dirOf(args[1]), ".lafs-get-*")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				if err := e.Download(cmd.Context(), c, progressWriter{f, bar}); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				// Only a complete, verified download replaces OUTFILE.
				return os.Rename(f.Name(), args[1])
			}
			return e.Download(cmd.Context(), c, out)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	return cmd
}

// openCap opens the node's client and resolves target (CAP or
// alias:path) to the cap it names.
func openCap(cmd *cobra.Command, opts *options, target string) (*client.Client, cap.Cap, error) {
	e, err := client.Open(opts.nodeDir)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.ResolveCap(cmd.Context(), target)
	return e, c, err
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}
