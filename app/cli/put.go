package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/node/client"
)

func newPutCmd(opts *options) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "put FILE [alias:path]",
		Short: "Upload a file (immutable); print its cap, and link it at alias:path if given",
		Long: `put uploads FILE as an immutable file, prints its cap, and links it at alias:path if
given (making missing parent directories). While it runs, a progress bar is drawn on
standard error if that is a terminal (not with --quiet): first while the file is read to
derive its convergent key, then while it is encoded and sent.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			var in io.ReadSeeker = f
			var bar *progress
			if st, err := f.Stat(); err == nil && st.Size() > chk.LITThreshold {
				// Upload reads the file twice when the key is convergent.
				phases := []string{"uploading"}
				if e.Imm.Convergence != nil {
					phases = []string{"hashing", "uploading"}
				}
				bar = newProgress(cmd.ErrOrStderr(), quiet, phases[0], st.Size())
				in = &progressReader{r: f, p: bar, phases: phases}
			}
			up, err := e.Imm.Upload(cmd.Context(), in)
			bar.finish() // before anything else is printed
			if err != nil {
				return fmt.Errorf("upload %s: %w", args[0], err)
			}
			if len(args) == 2 {
				d, name, err := e.ParentDir(cmd.Context(), args[1])
				if err != nil {
					return err
				}
				md := map[string]any{"size": float64(up.Bytes)}
				if err := d.SetCap(cmd.Context(), name, up.Cap, md, true); err != nil {
					return fmt.Errorf("link %s: %w", args[1], err)
				}
			}
			// Printing the cap is what put is for (as in Tahoe).
			fmt.Fprintln(cmd.OutOrStdout(), up.Cap.String())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "draw no progress bar")
	return cmd
}
