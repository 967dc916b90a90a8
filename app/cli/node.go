package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/introducer"
	"github.com/lafssync/lafssync/node/storagenode"
)

func nodeDirArg(opts *options, args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return opts.nodeDir
}

// listenFlags are the flags create-node and create-introducer share.
type listenFlags struct {
	port, hostname, location, nickname string
}

func (l *listenFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.port, "port", "", "port (or tcp:PORT[:interface=ADDR]) to listen on; default: a free port")
	f.StringVar(&l.hostname, "hostname", "127.0.0.1", "host name or address others use to reach this node")
	f.StringVar(&l.location, "location", "", "tub.location hints (tcp:HOST:PORT,…); default from --hostname and --port")
	f.StringVar(&l.nickname, "nickname", "", "a name for people")
}

func newCreateIntroducerCmd(opts *options) *cobra.Command {
	var l listenFlags
	cmd := &cobra.Command{
		Use:   "create-introducer [DIR]",
		Short: "Create an introducer node: storage servers announce themselves to it, clients learn of them from it",
		Long: `Create an introducer's node directory. Start it with 'lafs run DIR'; it then writes its
address (lafs://NODEID@HOST:PORT) to DIR/private/introducer.url. Give that address to
storage servers and clients: lafs create-node --introducer ADDRESS.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := nodeDirArg(opts, args)
			c, err := storagenode.Create(dir, storagenode.CreateOptions{Introducer: true, Port: l.port,
				Hostname: l.hostname, Location: l.location, Nickname: l.nickname})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Introducer created in %s (%s). Start it with: lafs run %s\n", dir, c.TubPort, dir)
			return nil
		},
	}
	l.add(cmd)
	return cmd
}

func newCreateNodeCmd(opts *options) *cobra.Command {
	var (
		storageOn, readonly bool
		outboundOnly        bool
		reserved            string
		intros              []string
		l                   listenFlags
	)
	cmd := &cobra.Command{
		Use:   "create-node [DIR]",
		Short: "Create a node directory (tahoe.cfg, keys); --storage makes it a storage server",
		Long: `Create a node directory with a tahoe.cfg and fresh keys. With no --port a free port is
chosen now and kept in tahoe.cfg. --hostname (default 127.0.0.1) is how clients reach the
node; when it is an IP address the server listens only on it. --introducer joins a grid
(repeat it for several introducers). A node that cannot be dialed (behind NAT, no port
forward) takes --outbound-only: it then connects out to every node it hears of, and they
use those connections to reach it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := nodeDirArg(opts, args)
			o := storagenode.CreateOptions{Storage: storageOn, ReadOnly: readonly, Port: l.port,
				Hostname: l.hostname, Location: l.location, Nickname: l.nickname, OutboundOnly: outboundOnly,
				Introducers: map[string]string{}}
			for i, s := range intros {
				if _, err := introducer.ParseURL(s); err != nil {
					return fmt.Errorf("--introducer: %w", err)
				}
				pet := "default"
				if i > 0 {
					pet = fmt.Sprintf("introducer-%d", i+1)
				}
				o.Introducers[pet] = s
			}
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
	f.StringArrayVar(&intros, "introducer", nil, "an introducer's address (lafs://…) to join; repeat for several")
	f.BoolVar(&outboundOnly, "outbound-only", false, "this node cannot be dialed (NAT): announce no address, connect out instead")
	l.add(cmd)
	return cmd
}

func newRunCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run the node in DIR: storage server, introducer, and/or client with its web API",
		Long: `Run the node: it listens on tub.port, serves storage if enabled (to our nodes and, on the
same port, to Tahoe-LAFS clients over HTTPS), runs an introducer if it is one, joins the
introducers in private/introducers.yaml, connects to every node they announce, and serves
the web API on loopback (URL in DIR/node.url). A node with a grid client also runs the
folder sync (lafs sync add DIR). Stop with Ctrl-C.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The folder sync runs beside the node and stops with each run
			// of it (a reload may restart the node: fullnode.RunRestarting).
			var syncing sync.WaitGroup
			defer syncing.Wait()
			return fullnode.RunRestarting(ctx, nodeDirArg(opts, args), log, fullnode.RunHooks{Stopped: syncing.Wait, Ready: func(runCtx context.Context, n *fullnode.Node) {
				startSync(runCtx, &syncing, n, log)
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "node %s listening on %s\n", n.T.ID(), n.Addr())
				if n.Intro != nil {
					fmt.Fprintf(out, "introducer address: %s\n", n.IntroducerURL())
				}
				if n.Config.StorageEnabled {
					// The user asked to run a server whose NURL is how
					// Tahoe clients reach it: printing it is the point.
					if nurl, err := n.NURL(); err == nil {
						fmt.Fprintf(out, "storage NURL: %s\n", nurl)
					}
				}
				if u := n.WebURL(); u != "" {
					fmt.Fprintf(out, "web API: %s\n", u)
				}
			}})
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
