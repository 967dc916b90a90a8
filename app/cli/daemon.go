package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/version"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
)

func newDaemonCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run LAFS Sync headless (what 'make run' starts when there is no display)",
		Long: `Run LAFS Sync without a display, on its embedded default: a local grid of ten
storage servers on this machine (under NODEDIR/local-grid, loopback only), listed in
NODEDIR/private/servers.yaml. The client node and the folder sync are not built yet, so
nothing is synced. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := os.MkdirAll(opts.nodeDir, 0o700); err != nil {
				return fmt.Errorf("create node directory %s: %w", opts.nodeDir, err)
			}
			log.Info(version.Name+" daemon started", "version", version.Version, "node_directory", opts.nodeDir)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			root := filepath.Join(opts.nodeDir, "local-grid")
			err := storagenode.RunLocalGrid(ctx, root, opts.nodeDir, storagenode.LocalGridSize, log, func(dirs []string) {
				log.Info("local grid up", "storage_servers", len(dirs), "directory", root,
					"servers_yaml", config.ServersPath(opts.nodeDir))
				log.Warn("the client node and folder sync are not built yet: nothing is synced")
			})
			if err != nil {
				return fmt.Errorf("local grid: %w", err)
			}
			log.Info("stopped")
			return nil
		},
	}
}
