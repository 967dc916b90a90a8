package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
)

func newGetCmd(opts *options) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "get CAP|alias:path [OUTFILE]",
		Short: "Download a file to OUTFILE (default: standard output)",
		Long: `get downloads a file to OUTFILE, or to standard output. OUTFILE is replaced only by
a complete, verified download: the bytes go to a hidden partial file beside it (.lafs-get-
and digits, readable only by you), which is flushed to disk and then renamed. Interrupted
(Ctrl-C, SIGTERM, SIGHUP), get removes the partial file and exits with 130, 143 or 129; a
partial file left by a get that was killed outright is removed by a later get into the same
directory. A progress bar is drawn on standard error if that is a terminal and the file is
not being written to the same terminal (not with --quiet).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd, func(ctx context.Context) error {
				e, c, err := openCapCtx(ctx, opts, args[0])
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
				if len(args) == 2 {
					return downloadTo(ctx, e, c, args[1], bar)
				}
				return e.Download(ctx, c, progressWriter{cmd.OutOrStdout(), bar})
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	return cmd
}

// openCap opens the node's client and resolves target (CAP or
// alias:path) to the cap it names.
func openCap(cmd *cobra.Command, opts *options, target string) (*client.Client, cap.Cap, error) {
	return openCapCtx(cmd.Context(), opts, target)
}

func openCapCtx(ctx context.Context, opts *options, target string) (*client.Client, cap.Cap, error) {
	e, err := client.Open(opts.nodeDir)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.ResolveCap(ctx, target)
	return e, c, err
}
