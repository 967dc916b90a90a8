package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/version"
)

func newDaemonCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run LAFS Sync headless (what 'make run' starts when there is no display)",
		Long: `Run LAFS Sync without a display. Today this prepares the node directory and waits:
the storage server, the node's network side and the sync engine are not built yet, so
nothing is served or synced. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := os.MkdirAll(opts.nodeDir, 0o700); err != nil {
				return fmt.Errorf("create node directory %s: %w", opts.nodeDir, err)
			}
			log.Info(version.Name+" daemon started", "version", version.Version, "node_directory", opts.nodeDir)
			log.Warn("not serving or syncing yet: the storage server, node and sync engine are still being built; this process only holds the node directory")
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			select {
			case s := <-sig:
				log.Info("stopping", "signal", s.String())
			case <-cmd.Context().Done():
			}
			return nil
		},
	}
}
