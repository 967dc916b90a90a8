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
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/webapi"
)

func newDaemonCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run LAFS Sync headless (what 'make run' starts when there is no display)",
		Long: `Run LAFS Sync without a display, on its embedded default: a local grid on this
machine (an introducer and ten storage servers under NODEDIR/local-grid, loopback only) and
the node in NODEDIR as its client, joined to the local introducer (petname "local" in
NODEDIR/private/introducers.yaml), with the web API on a loopback port (its URL in
NODEDIR/node.url, its token in NODEDIR/private/api_auth_token). The folder sync is not built
yet, so nothing is synced. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := os.MkdirAll(opts.nodeDir, 0o700); err != nil {
				return fmt.Errorf("create node directory %s: %w", opts.nodeDir, err)
			}
			log.Info(version.Name+" daemon started", "version", version.Version, "node_directory", opts.nodeDir)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := fullnode.RunEmbedded(ctx, opts.nodeDir, log, func(n *fullnode.Node) {
				log.Info("local grid up", "storage_servers", fullnode.LocalGridSize,
					"directory", filepath.Join(opts.nodeDir, "local-grid"), "web_api", n.WebURL(),
					"token_file", webapi.TokenPath(opts.nodeDir))
				log.Warn("the folder sync is not built yet: nothing is synced")
			})
			if err != nil {
				return fmt.Errorf("local grid: %w", err)
			}
			log.Info("stopped")
			return nil
		},
	}
}
