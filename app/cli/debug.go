package cli

import "github.com/spf13/cobra"

func newDebugCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "debug",
		Short: "Tools for looking inside caps, shares and formats",
	}
	cmd.AddCommand(
		newDebugCapCmd(),
		newDebugVectorsCmd(),
	)
	return cmd
}
