package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
)

func nodeDirArg(opts *options, args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return opts.nodeDir
}

func newCreateNodeCmd(opts *options) *cobra.Command {
	var (
		storageOn, readonly bool
		reserved, port      string
		hostname, location  string
		nickname            string
	)
	cmd := &cobra.Command{
		Use:   "create-node [DIR]",
		Short: "Create a node directory (tahoe.cfg, keys); --storage makes it a storage server",
		Long: `Create a node directory with a tahoe.cfg and fresh keys. With no --port a free port is
chosen now and kept in tahoe.cfg. --hostname (default 127.0.0.1) is how clients reach the
node; when it is an IP address the server listens only on it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := nodeDirArg(opts, args)
			o := storagenode.CreateOptions{Storage: storageOn, ReadOnly: readonly, Port: port,
				Hostname: hostname, Location: location, Nickname: nickname}
			if reserved != "" {
				n, err := config.ParseSize(reserved)
				if err != nil {
					return fmt.Errorf("--reserved-space: %w", err)
				}
				o.ReservedSpace = n
			}
			c, err := storagenode.Create(dir, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Node created in %s (%s). Start it with: lafs run %s\n", dir, c.TubPort, dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&storageOn, "storage", false, "run a storage server")
	f.BoolVar(&readonly, "readonly", false, "storage server accepts no new shares (immutable or mutable)")
	f.StringVar(&reserved, "reserved-space", "", "disk space never to use for shares, e.g. 10G, 1GiB")
	f.StringVar(&port, "port", "", "port (or tcp:PORT[:interface=ADDR]) to listen on; default: a free port")
	f.StringVar(&hostname, "hostname", "127.0.0.1", "host name or address clients use")
	f.StringVar(&location, "location", "", "tub.location hints (tcp:HOST:PORT,…); default from --hostname and --port")
	f.StringVar(&nickname, "nickname", "", "a name for people")
	return cmd
}

func newRunCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run the node in DIR: serve storage over Tahoe's HTTP storage protocol",
		Long: `Run the node. A storage node prints its NURL: give it to clients (it contains the
swissnum that lets them use this server). Stop with Ctrl-C.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			n, err := storagenode.Open(nodeDirArg(opts, args), log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return n.Run(ctx, func(nurl string) {
				// The user asked to run a server whose NURL is how clients
				// reach it: printing it is the point.
				fmt.Fprintf(cmd.OutOrStdout(), "storage NURL: %s\n", nurl)
			})
		},
	}
}

func newTahoeServersYAMLCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "tahoe-servers-yaml [DIR]",
		Short: "Print the private/servers.yaml entry a Tahoe-LAFS 1.19+ client needs to use this storage node",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := storagenode.Open(nodeDirArg(opts, args), nil)
			if err != nil {
				return err
			}
			a, err := n.Announcement()
			if err != nil {
				return err
			}
			b, err := config.MarshalServers(map[string]config.Announcement{n.ID.ServerID(): a})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}
