package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/fullnode"
	"github.com/lafssync/lafssync/node/invite"
	"github.com/lafssync/lafssync/node/storagenode"
	"github.com/lafssync/lafssync/syncer/api"
)

// The invite commands: docs/invites.md.

func newInviteCmd(opts *options) *cobra.Command {
	var (
		folder, mailbox, nickname string
		write, allowLocal         bool
		timeout                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "invite [--folder NAME [--write]] [--mailbox URL]",
		Short: "Print a one-time code that lets another device join this node's grid (and, with --folder, a folder)",
		Long: `invite prints a short one-time code (like 7-guitarist-revenge) and waits for the other
device to run 'lafs join CODE'. Through a magic-wormhole mailbox server, the two devices
then agree on a key from the code and this node sends what the other needs: the grid's
introducers and encoding, and with --folder NAME that folder's read cap, so a friend can
follow it read-only. --write sends the folder's write cap instead, for your own other
devices: it grants full control of the folder. The code works once; a wrong guess spends
it. Tahoe-LAFS's 'tahoe create-client --join' understands the same exchange.

A grid whose introducers listen only on this computer (127.0.0.1: the tray app's local
grid) cannot be reached from another computer, so invite refuses it unless
--allow-local-grid says the other device is on this computer too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if write && folder == "" {
				return errors.New("--write needs --folder NAME")
			}
			inv, err := gridInvite(opts.nodeDir)
			if err != nil {
				return err
			}
			if inv.LoopbackOnly() {
				if !allowLocal {
					return localGridError(opts.nodeDir)
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "Warning: this grid exists only on this computer (its introducer listens on 127.0.0.1), so the code is only of use to a device on this computer (--allow-local-grid).")
			}
			inv.Nickname = nickname
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if folder != "" {
				f, err := folderInvite(ctx, opts, folder, write)
				if err != nil {
					return err
				}
				if write {
					fmt.Fprintf(cmd.ErrOrStderr(), "Warning: this invite carries the WRITE cap of folder %s. Whoever joins with it can change and delete every file in it, on every device. Give the code only to your own devices.\n", f.Name)
				}
				inv.Folder = f
			}
			p, err := invite.Create(ctx, invite.Options{MailboxURL: mailbox}, inv)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			// The code is what the user asked for: it goes to the terminal, never to a log.
			fmt.Fprintf(out, "Invite code: %s\n", p.Code)
			fmt.Fprintf(out, "On the other device run: lafs join %s\n", p.Code)
			fmt.Fprintf(out, "Waiting up to %s for it (the code works once; Ctrl-C cancels)…\n", timeout)
			if err := p.Wait(ctx); err != nil {
				return fmt.Errorf("invite: %w", err)
			}
			what := "this grid's introducer"
			if inv.Folder != nil {
				what += fmt.Sprintf(" and folder %q", inv.Folder.Name)
				if !inv.Folder.Write {
					what += " (read-only)"
				}
			}
			fmt.Fprintf(out, "Invite accepted: the other device has %s.\n", what)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&folder, "folder", "", "also share this folder (its name or local path): its read cap")
	f.BoolVar(&write, "write", false, "with --folder: send the write cap (for your own devices only)")
	f.StringVar(&mailbox, "mailbox", invite.DefaultMailboxURL, "the magic-wormhole mailbox server both sides use")
	f.StringVar(&nickname, "nickname", "", "a nickname for the new node")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the other device")
	f.BoolVar(&allowLocal, "allow-local-grid", false, "make the code even though the grid exists only on this computer (for a device on this computer)")
	return cmd
}

// localGridError is lafs invite's refusal of a grid that exists only on
// this computer: what is wrong, and what to do instead.
func localGridError(dir string) error {
	return fmt.Errorf("%w; the invite code would be of no use on another computer. First join a grid that other computers can reach "+
		"(lafs join CODE with a code from a device on it, or lafs create-node --introducer ADDRESS for a new node), "+
		"or set one up on a computer others can reach (lafs create-introducer), then invite. "+
		"To make the code anyway, for another node on this computer: lafs -d %s invite --allow-local-grid",
		invite.ErrLocalGrid, client.ShellQuote(dir))
}

// gridInvite is what this node knows of its grid: introducers (its own
// address if it is one) and encoding.
func gridInvite(dir string) (invite.Invite, error) {
	c, err := config.Load(dir)
	if err != nil {
		return invite.Invite{}, fmt.Errorf("read the node in %s: %w (create one with lafs create-node, or pass -d DIR)", dir, err)
	}
	intros, err := config.LoadIntroducers(dir)
	if err != nil {
		return invite.Invite{}, err
	}
	if c.Introducer {
		if b, err := os.ReadFile(filepath.Join(dir, "private", fullnode.IntroducerURLFile)); err == nil {
			if _, ok := intros["default"]; ok {
				intros["this-introducer"] = strings.TrimSpace(string(b))
			} else {
				intros["default"] = strings.TrimSpace(string(b))
			}
		}
	}
	if len(intros) == 0 {
		return invite.Invite{}, fmt.Errorf("the node in %s has no introducer, so there is no grid to invite anyone to: join one (lafs create-node --introducer ADDRESS) or run one (lafs create-introducer)", dir)
	}
	inv := invite.Invite{Introducers: intros, SharesNeeded: c.SharesNeeded, SharesHappy: c.SharesHappy, SharesTotal: c.SharesTotal}
	if u, ok := intros["default"]; ok {
		inv.Introducer = u
	} else {
		pets := make([]string, 0, len(intros))
		for p := range intros {
			pets = append(pets, p)
		}
		sort.Strings(pets)
		inv.Introducer = intros[pets[0]]
	}
	return inv, nil
}

// folderInvite asks the running node for a folder's cap.
func folderInvite(ctx context.Context, opts *options, name string, write bool) (*invite.Folder, error) {
	s, err := dialSync(opts)
	if err != nil {
		return nil, err
	}
	st, err := s.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	kind := api.ShareRead
	if write {
		kind = api.ShareWrite
	}
	sh, err := s.c.Share(ctx, st.Name, kind)
	if err != nil {
		return nil, s.failed("share "+st.Name, err)
	}
	return &invite.Folder{Name: st.Name, Cap: sh.Cap, Write: write}, nil
}

func newJoinCmd(opts *options) *cobra.Command {
	var (
		mailbox, nickname, folderDir, hostname, port string
		timeout, waitNode                            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "join CODE [NODEDIR]",
		Short: "Join a grid (and a shared folder) with a code from 'lafs invite' on another device",
		Long: `join meets the inviting device through the mailbox server with CODE and receives the grid's
introducers and encoding. With no node in NODEDIR it creates one (a client; start it with
'lafs run NODEDIR'); an existing node gets the introducers added (restart it to connect).
If the invite carries a folder, join adds it to the running node: a read-only follow of a
friend's folder, or your own folder joined for writing. The folder goes into --folder-dir
(default: the folder's name in the current directory). When the node is not running yet,
join waits up to --wait-node for it to start.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := nodeDirArg(opts, args[1:])
			if _, err := invite.ParseCode(args[0]); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "Meeting the inviting device through the mailbox server…")
			inv, err := invite.Accept(ctx, invite.Options{MailboxURL: mailbox}, args[0])
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("join: the inviting device did not answer within %s: is its lafs invite still running?", timeout)
				}
				return fmt.Errorf("join: %w", err)
			}
			if nickname != "" {
				inv.Nickname = nickname
			}
			created, err := joinNode(dir, inv, hostname, port)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(out, "Node created in %s, joined to the grid (encoding %d of %d, happy %d). Start it with: lafs run %s\n",
					dir, inv.SharesNeeded, inv.SharesTotal, inv.SharesHappy, client.ShellQuote(dir))
			} else {
				fmt.Fprintf(out, "The node in %s now knows the grid's introducers; restart it (lafs run %s) to connect.\n", dir, client.ShellQuote(dir))
			}
			if inv.Folder == nil {
				return nil
			}
			local := folderDir
			if local == "" {
				local = inv.Folder.Name
			}
			if local, err = filepath.Abs(local); err != nil {
				return err
			}
			return joinFolder(cmd.Context(), out, &options{nodeDir: dir}, inv.Folder, local, waitNode)
		},
	}
	f := cmd.Flags()
	f.StringVar(&mailbox, "mailbox", invite.DefaultMailboxURL, "the magic-wormhole mailbox server both sides use")
	f.StringVar(&nickname, "nickname", "", "this node's nickname (default: the one the invite suggests)")
	f.StringVar(&folderDir, "folder-dir", "", "where the invite's folder goes (default: its name, in the current directory)")
	f.StringVar(&hostname, "hostname", "127.0.0.1", "for a new node: host name or address others use to reach it")
	f.StringVar(&port, "port", "", "for a new node: port to listen on (default: a free port)")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the inviting device")
	f.DurationVar(&waitNode, "wait-node", 2*time.Minute, "how long to wait for the node to run, to add the invite's folder")
	return cmd
}

// joinNode creates the node in dir with the invite's grid, or adds the
// grid's introducers to the node already there.
func joinNode(dir string, inv invite.Invite, hostname, port string) (created bool, err error) {
	intros := map[string]string{}
	for p, u := range inv.Introducers {
		intros[p] = u
	}
	if len(intros) == 0 {
		intros["default"] = inv.Introducer
	}
	if _, err := os.Stat(filepath.Join(dir, config.File)); errors.Is(err, os.ErrNotExist) {
		if _, err := storagenode.Create(dir, storagenode.CreateOptions{Hostname: hostname, Port: port, Nickname: inv.Nickname, Introducers: intros}); err != nil {
			return false, err
		}
		created = true
	} else {
		c, err := config.Load(dir)
		if err != nil {
			return false, err
		}
		have, err := config.LoadIntroducers(dir)
		if err != nil {
			return false, err
		}
		merged := map[string]string{}
		known := map[string]bool{}
		for p, u := range have {
			if p == "default" && c.IntroducerFURL != "" {
				// tahoe.cfg names it; introducers.yaml must not too.
				known[u] = true
				continue
			}
			merged[p], known[u] = u, true
		}
		pets := make([]string, 0, len(intros))
		for p := range intros {
			pets = append(pets, p)
		}
		sort.Strings(pets)
		for _, p := range pets {
			u := intros[p]
			if known[u] {
				continue
			}
			name := p
			for i := 2; have[name] != "" || merged[name] != ""; i++ {
				name = fmt.Sprintf("%s-%d", p, i)
			}
			merged[name], known[u] = u, true
		}
		if err := config.SaveIntroducers(dir, merged); err != nil {
			return false, err
		}
	}
	if inv.SharesTotal != 0 {
		c, err := config.Load(dir)
		if err != nil {
			return created, err
		}
		c.SharesNeeded, c.SharesHappy, c.SharesTotal = inv.SharesNeeded, inv.SharesHappy, inv.SharesTotal
		if err := config.Save(dir, c); err != nil {
			return created, err
		}
	}
	return created, nil
}

// joinFolder adds the invite's folder to the node in opts.nodeDir once
// it runs (waiting up to wait); if it does not, it prints the command.
func joinFolder(ctx context.Context, out io.Writer, opts *options, f *invite.Folder, local string, wait time.Duration) error {
	r := FolderRequest(f, local)
	cmdline := "sync follow"
	if f.Write {
		cmdline = "sync add " + client.ShellQuote(local) + " --to"
	}
	deadline := time.Now().Add(wait)
	said := false
	for {
		s, err := dialSync(opts)
		if err == nil {
			var st api.FolderStatus
			st, err = s.c.Add(ctx, r)
			if err == nil {
				if f.Write {
					fmt.Fprintf(out, "Syncing %s as folder %q, joined to your folder on the inviting device.\n", st.Path, st.Name)
				} else {
					fmt.Fprintf(out, "Following folder %q into %s (read-only: local edits are not uploaded).\n", st.Name, st.Path)
				}
				return nil
			}
			if !notYet(err) {
				printFolderCommand(out, opts, f, cmdline, local, "Folder %q was not added")
				return fmt.Errorf("add folder %q: %w", f.Name, s.explain(err))
			}
		}
		if !time.Now().Before(deadline) {
			break
		}
		if !said {
			fmt.Fprintf(out, "Waiting up to %s for the node to run (lafs run %s) and reach the grid, to add folder %q…\n", wait, client.ShellQuote(opts.nodeDir), f.Name)
			said = true
		}
		select {
		case <-ctx.Done():
			printFolderCommand(out, opts, f, cmdline, local, "Folder %q was not added")
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	printFolderCommand(out, opts, f, cmdline, local, "The node is not running (or not on the grid yet), so folder %q is not added")
	return nil
}

// notYet says whether a failed add may work once the node runs and
// reaches the grid.
func notYet(err error) bool {
	var oe *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var re *api.ResponseError
	return errors.As(err, &re) && re.Code == api.CodeStarting || errors.Is(err, api.ErrStarting) || errors.Is(err, api.ErrNoGrid)
}

// printFolderCommand tells the user how to add the folder by hand: the
// code is spent, so without it the folder would be lost.
func printFolderCommand(out io.Writer, opts *options, f *invite.Folder, cmdline, local, why string) {
	// The user asked to join this folder: its cap goes to their terminal,
	// as lafs sync share does, so that nothing is lost.
	fmt.Fprintf(out, why+". Once the node runs (lafs run %s), add it with:\n", f.Name, client.ShellQuote(opts.nodeDir))
	if f.Write {
		fmt.Fprintf(out, "  lafs -d %s %s %s --name %s\n", client.ShellQuote(opts.nodeDir), cmdline, f.Cap, client.ShellQuote(f.Name))
	} else {
		fmt.Fprintf(out, "  lafs -d %s %s %s %s --name %s\n", client.ShellQuote(opts.nodeDir), cmdline, f.Cap, client.ShellQuote(local), client.ShellQuote(f.Name))
	}
}
