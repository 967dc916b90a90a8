package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/grid/vectors"
)

func newDebugVectorsCmd() *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "vectors FILE",
		Short: "Recompute every cap in a Tahoe-LAFS vectors file from its inputs and compare",
		Long: `Read a vectors file in the format of Tahoe-LAFS's integration/vectors/test_vectors.yaml
(a copy is in testdata/vectors/tahoe/vectors.yaml) and, for every vector, compute the cap
from the inputs alone. Prints one line per vector and a final "N passed, N failed" line;
exits with status 1 if any vector does not match.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			vf, err := vectors.Load(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			opts := vectors.Options{Mutable: mutable.VectorCap}
			if short {
				opts.MaxLength = 1 << 20
			}
			out := cmd.OutOrStdout()
			sum, err := vf.Run(cmd.Context(), opts, func(r vectors.Result) {
				computed := r.Computed
				if computed == "" {
					computed = "-"
				}
				fmt.Fprintf(out, "%3d %-4s %9d %s %s", r.Index, r.Kind, r.Length, computed, r.Status)
				if r.Reason != "" {
					fmt.Fprintf(out, " (%s)", r.Reason)
				}
				fmt.Fprintln(out)
			})
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%d passed, %d failed", sum.Passed, sum.Failed)
			if sum.Skipped > 0 {
				line += fmt.Sprintf(", %d skipped", sum.Skipped)
			}
			fmt.Fprintln(out, line)
			if sum.Failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "skip vectors whose plaintext is over 1 MiB")
	return cmd
}
