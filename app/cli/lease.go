package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/lease"
	"github.com/lafssync/lafssync/grid/walk"
	"github.com/lafssync/lafssync/node/client"
)

func newRenewLeasesCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "renew-leases [alias:path|CAP ...]",
		Short: "Renew the leases on every share reachable from the targets (default: all aliases)",
		Long: `renew-leases renews, on every storage server, the lease of every share of every
object reachable from the targets (by default, from every alias), so the servers keep
them for another 31 days. Storage servers delete shares whose leases have all expired:
run it (or let the daemon do it) at least monthly. The exit status is 2 when some
object could not be renewed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			targets := args
			if len(targets) == 0 {
				for name := range e.Aliases {
					targets = append(targets, name+":")
				}
				sort.Strings(targets)
				if len(targets) == 0 {
					return fmt.Errorf("no aliases: name what to renew (alias:path or CAP), or create an alias with 'lafs create-alias'")
				}
			}
			var roots []string
			for _, t := range targets {
				c, err := e.Resolve(cmd.Context(), t)
				if err != nil {
					return fmt.Errorf("%s: %w", t, err)
				}
				roots = append(roots, c)
			}
			rep, err := lease.Renew(cmd.Context(), e.Imm.Servers, walk.Grid{Dirs: e.Dirs, Imm: e.Imm}, roots, e.Imm.LeaseSecret, lease.Options{})
			if err != nil {
				return fmt.Errorf("renew leases: %w", err)
			}
			for _, p := range rep.Errors {
				fmt.Fprintln(cmd.ErrOrStderr(), p)
			}
			fmt.Fprintln(cmd.OutOrStdout(), rep.String())
			if !rep.OK() {
				return exitError{2}
			}
			return nil
		},
	}
}
