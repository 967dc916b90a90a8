package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/fullnode"
)

func newGridCmd(opts *options) *cobra.Command {
	grid := &cobra.Command{
		Use:   "grid",
		Short: "Run a whole grid on this machine (for trying things out and for tests)",
	}
	var dir string
	var quiet bool
	up := &cobra.Command{
		Use:   "up [N]",
		Short: "Start an introducer and N storage nodes (default 10) on loopback, in this process",
		Long: `Start a grid on this machine: an introducer and N storage nodes, loopback only, all in
this process, under --dir (default NODEDIR/local-grid, the grid 'lafs daemon' runs). The
nodes are created on first use and keep their keys and ports. It prints the introducer's
address; join it from another node directory with
  lafs create-node --introducer ADDRESS DIR && lafs run DIR
Stop with Ctrl-C.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := fullnode.LocalGridSize
			if len(args) == 1 {
				v, err := strconv.Atoi(args[0])
				if err != nil || v < 1 || v > 256 {
					return fmt.Errorf("number of storage nodes %q: want 1 to 256", args[0])
				}
				n = v
			}
			if dir == "" {
				dir = filepath.Join(opts.nodeDir, "local-grid")
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return fullnode.RunLocalGrid(ctx, dir, n, log, func(url string) {
				fmt.Fprintf(cmd.OutOrStdout(), "grid up: introducer and %d storage nodes under %s\nintroducer address: %s\n", n, dir, url)
			})
		},
	}
	up.Flags().StringVar(&dir, "dir", "", "where the grid's node directories live (default NODEDIR/local-grid)")
	up.Flags().BoolVarP(&quiet, "quiet", "q", false, "log only warnings and errors")
	grid.AddCommand(up)
	return grid
}
