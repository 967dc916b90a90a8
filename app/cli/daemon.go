package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/logfile"
	"github.com/lafssync/lafssync/internal/version"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/nodedir"
)

func newDaemonCmd(opts *options) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "daemon [-v]",
		Short: "Run LAFS Sync headless (what 'make run' starts when there is no display)",
		Long: `Run LAFS Sync without a display, on its embedded default: a local grid on this
machine (an introducer and ten storage servers under NODEDIR/local-grid, loopback only) and
the node in NODEDIR as its client, joined to the local introducer (petname "local" in
NODEDIR/private/introducers.yaml), with the web API on a loopback port (its URL in
NODEDIR/node.url, its token in the OS keyring or NODEDIR/private/api_auth_token: see
'lafs secrets'), and the folder sync: the
folders added with 'lafs sync add DIR' are kept in step with the grid while it runs. Stop it
with Ctrl-C.

The log goes to NODEDIR/logs/lafs.log; the terminal shows only warnings and errors, and
everything with -v. One daemon (or tray app) per node directory: a second one on the same
directory says which process runs it and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The lock comes first: a second daemon must not touch the
			// first one's directory, its log file included.
			lk, err := nodedir.Acquire(opts.nodeDir)
			if err != nil {
				return err
			}
			defer lk.Release()
			lf, err := logfile.Open(logfile.Path(opts.nodeDir), 0)
			if err != nil {
				return fmt.Errorf("%s: %w", logfile.Path(opts.nodeDir), err)
			}
			defer lf.Close()
			log := logfile.New(lf, cmd.ErrOrStderr(), verbose)
			log.Info(version.Name+" daemon started", "version", version.Version, "node_directory", opts.nodeDir, "pid", os.Getpid())
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s %s: starting the local grid in %s …\n", version.Name, version.Version, opts.nodeDir)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The folder sync runs beside the node and stops with it.
			syncCtx, stopSync := context.WithCancel(ctx)
			var syncing sync.WaitGroup
			defer syncing.Wait()
			defer stopSync()
			err = fullnode.RunEmbeddedLocked(ctx, lk, log, func(n *fullnode.Node) {
				startSync(syncCtx, &syncing, n, log)
				log.Info("local grid up", "storage_servers", fullnode.LocalGridSize,
					"directory", filepath.Join(opts.nodeDir, "local-grid"), "web_api", n.WebURL(),
					"token_in", tokenWhere(opts.nodeDir))
				// The banner waits (briefly) for the servers, so the
				// commands it suggests work at once.
				go func() {
					connected := waitForServers(ctx, n, fullnode.LocalGridSize, 20*time.Second)
					if ctx.Err() == nil {
						printBanner(out, opts.nodeDir, n.WebURL(), connected, verbose)
					}
				}()
			})
			stopSync()
			syncing.Wait()
			if err != nil {
				log.Error("stopped", "err", err)
				return fmt.Errorf("local grid: %w", err)
			}
			log.Info("stopped")
			fmt.Fprintln(out, "LAFS Sync stopped.")
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the whole log on the terminal, not only warnings and errors")
	return cmd
}

// waitForServers waits until the node uses want storage servers, at most
// limit, and returns how many it uses.
func waitForServers(ctx context.Context, n *fullnode.Node, want int, limit time.Duration) int {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if k := len(n.Servers()); k >= want {
			return k
		}
		select {
		case <-ctx.Done():
			return len(n.Servers())
		case <-deadline.C:
			return len(n.Servers())
		case <-tick.C:
		}
	}
}

// printBanner tells a person what is running, where, and what to try next.
func printBanner(w io.Writer, nodeDir, webURL string, connected int, verbose bool) {
	lafs := "lafs"
	if strings.ContainsRune(os.Args[0], filepath.Separator) {
		lafs = os.Args[0] // bin/lafs from make run: not on PATH
	}
	if nodeDir != DefaultNodeDir() {
		lafs += " -d " + nodeDir
	}
	logLine := logfile.Path(nodeDir) + "   (lafs daemon -v shows it here)"
	if verbose {
		logLine = logfile.Path(nodeDir) + " and here"
	}
	fmt.Fprintf(w, `
LAFS Sync is running (headless: no tray app).

  Node directory  %s
  Local grid      an introducer and %d storage servers (%d connected), in %s
                  all on this computer: no protection against a disk failure
  Web API         %s   (token in %s)
  Log             %s

Next, in another terminal:
%s
Stop with Ctrl-C.
`, nodeDir, fullnode.LocalGridSize, connected, filepath.Join(nodeDir, "local-grid"), webURL, tokenWhere(nodeDir), logLine,
		nextSteps(lafs))
}

// nextSteps lists the commands to try, their explanations in one column.
func nextSteps(lafs string) string {
	steps := [][2]string{
		{"sync add DIR", "keep the folder DIR in sync with the grid"},
		{"sync status", "how the folders are doing"},
		{"create-alias home", "make a directory on the grid, named home:"},
		{"put FILE home:", "upload FILE into it"},
		{"ls home:", "list it"},
		{"status", "what is connected"},
	}
	width := 0
	for _, s := range steps {
		width = max(width, len(lafs)+1+len(s[0]))
	}
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "  %-*s   %s\n", width, lafs+" "+s[0], s[1])
	}
	return b.String()
}
