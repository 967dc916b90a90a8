package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
)

func newMkdirCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "mkdir [alias:path]",
		Short: "Make a directory (and its parents); with no argument, make an unlinked one and print its cap",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				d, err := e.Dirs.Create(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), d.Cap().String())
				return nil
			}
			c, path, err := e.SplitTarget(args[0])
			if err != nil {
				return err
			}
			root, err := e.Dirs.Open(c)
			if err != nil {
				return err
			}
			_, err = e.Dirs.MkdirAll(cmd.Context(), root, strings.Join(path, "/"))
			return err
		},
	}
}
