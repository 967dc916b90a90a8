package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/version"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/node/webapi"
)

// serveWebAPI serves the node's web API on a loopback port until ctx ends
// and writes its address to NODEDIR/node.url (as Tahoe does).
func serveWebAPI(ctx context.Context, dir string, log *slog.Logger) (string, error) {
	c, err := client.Open(dir)
	if err != nil {
		return "", err
	}
	token, err := webapi.LoadToken(dir)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	u := "http://" + ln.Addr().String() + "/"
	if err := os.WriteFile(filepath.Join(dir, "node.url"), []byte(u+"\n"), 0o600); err != nil {
		ln.Close()
		return "", err
	}
	srv := &http.Server{Handler: webapi.New(c, token), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web API stopped", "err", err)
		}
	}()
	return u, nil
}

func newDaemonCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run LAFS Sync headless (what 'make run' starts when there is no display)",
		Long: `Run LAFS Sync without a display, on its embedded default: a local grid of ten
storage servers on this machine (under NODEDIR/local-grid, loopback only), listed in
NODEDIR/private/servers.yaml, and the web API on a loopback port (its URL in NODEDIR/node.url,
its token in NODEDIR/private/api_auth_token). The folder sync is not built yet, so nothing is
synced. Stop it with Ctrl-C.`,
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
				if u, err := serveWebAPI(ctx, opts.nodeDir, log); err != nil {
					log.Error("web API not started", "err", err)
				} else {
					log.Info("web API on loopback", "url", u, "token_file", webapi.TokenPath(opts.nodeDir))
				}
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
