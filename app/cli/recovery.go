package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/recovery"
	"github.com/lafssync/lafssync/app/recovery/ttypass"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
	"github.com/lafssync/lafssync/node/storagenode"
)

func newRecoveryKitCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recovery-kit",
		Short: "Export the keys of your folders to an encrypted file (and QR code), or restore them on a new computer",
		Long: `A recovery kit holds what a new computer needs to get your folders back: every synced
folder's name and write cap (the read cap of a folder you follow), the node's aliases, and
the grid's introducers and encoding, encrypted with a passphrase you choose (Argon2id and
XChaCha20-Poly1305; the format is in docs/recovery-kit.md). Keep the file, or a print of
it and its QR code, apart from the passphrase.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRecoveryExportCmd(opts), newRecoveryRestoreCmd(opts))
	return cmd
}

func newRecoveryExportCmd(opts *options) *cobra.Command {
	var passFile string
	cmd := &cobra.Command{
		Use:   "export FILE [--passphrase-file PFILE]",
		Short: "Write the recovery kit of this node's folders to FILE (and its QR code to FILE.png)",
		Long: `export asks the running node for every folder and its cap, adds the node's aliases and grid
settings, and writes them encrypted to FILE (readable only by you) and a QR code of the same
to FILE.png. The passphrase is asked twice on the terminal (nothing is shown as you type),
or read from the first line of PFILE ("-": standard input). It must have at least 12
characters and not be easy to guess; four or five unrelated words are a good choice.
FILE can be printed: its text is the kit, and restore reads it typed back in.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			k, err := recovery.Collect(cmd.Context(), opts.nodeDir, recovery.ClientSource(s.c), time.Now())
			if err != nil {
				return s.failed("recovery kit", err)
			}
			pass, err := passphrase(cmd, passFile, true)
			if err != nil {
				return err
			}
			text, err := recovery.Seal(k, pass, recovery.DefaultParams)
			if err != nil {
				return err
			}
			saved, err := recovery.Save(args[0], text)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Recovery kit written to %s: %s, %s, encrypted with your passphrase.\n",
				saved.Path, countOf(len(k.Folders), "folder"), countOf(len(k.Aliases), "alias"))
			if saved.QR != "" {
				fmt.Fprintf(out, "Its QR code: %s (print it, or keep it on another device).\n", saved.QR)
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "No QR code: %v\n", saved.QRErr)
			}
			fmt.Fprintf(out, "Keep the kit and the passphrase safe, and apart. On a new computer: lafs recovery-kit restore %s\n", client.ShellQuote(filepath.Base(saved.Path)))
			if k.Grid.Local {
				fmt.Fprintln(out, "Note: this node stores your files on its own local grid, on this computer. The kit brings the folders back only where that grid can still be reached; if this computer is lost, so are the files. Join a grid of several computers to be safe from that.")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", `read the passphrase from the first line of this file ("-": standard input)`)
	return cmd
}

func newRecoveryRestoreCmd(opts *options) *cobra.Command {
	var passFile, into string
	var showCaps bool
	cmd := &cobra.Command{
		Use:   "restore FILE [NODEDIR] [--into DIR] [--show-caps]",
		Short: "Bring back the folders and aliases of a recovery kit on this computer",
		Long: `restore opens the recovery kit FILE (the file, or its text typed back in) with its passphrase
and brings it back into the node in NODEDIR (default: -d's): with no node there yet, one is
created, joined to the kit's grid. The aliases are added to NODEDIR/private/aliases (an
alias the node has already is kept as it is). Then, through the running node, every folder
is added again: a synced folder joined with its write cap, a followed one followed with its
read cap, each where it was on the old computer, or with --into DIR under DIR/NAME. When no
node runs, restore says how to start it and lists the commands that add the folders. Caps
are printed only with --show-caps.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			nodeDir := opts.nodeDir
			if len(args) == 2 {
				nodeDir = args[1]
			}
			if into != "" {
				abs, err := filepath.Abs(into)
				if err != nil {
					return err
				}
				into = abs
			}
			text, err := recovery.ReadFile(args[0])
			if err != nil {
				return err
			}
			pass, err := passphrase(cmd, passFile, false)
			if err != nil {
				return err
			}
			k, err := recovery.Open(text, pass)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			from := ""
			if k.Node != "" {
				from = " on " + k.Node
			}
			fmt.Fprintf(out, "Recovery kit made %s%s: %s, %s.\n", k.Created.Local().Format("2006-01-02 15:04"), from,
				countOf(len(k.Folders), "folder"), countOf(len(k.Aliases), "alias"))
			if err := restoreNode(out, nodeDir, k); err != nil {
				return err
			}
			ar, err := recovery.RestoreAliases(nodeDir, k)
			if err != nil {
				return err
			}
			printAliases(out, ar)
			return restoreFolders(cmd, &options{nodeDir: nodeDir}, args[0], k, into, showCaps)
		},
	}
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", `read the passphrase from the first line of this file ("-": standard input)`)
	cmd.Flags().StringVar(&into, "into", "", "put every folder under DIR/NAME instead of where it was")
	cmd.Flags().BoolVar(&showCaps, "show-caps", false, "print the folders' caps (they are secrets)")
	return cmd
}

// restoreNode creates the node when nodeDir has none, joined to the
// kit's grid with its encoding; an existing node is left as it is, with
// a note when it uses none of the kit's introducers.
func restoreNode(out io.Writer, nodeDir string, k *recovery.Kit) error {
	if _, err := os.Stat(filepath.Join(nodeDir, config.File)); err == nil {
		have, err := config.LoadIntroducers(nodeDir)
		if err != nil {
			return err
		}
		for _, u := range k.Grid.Introducers {
			for _, h := range have {
				if u == h {
					return nil
				}
			}
		}
		if !k.Grid.Local && len(k.Grid.Introducers) > 0 {
			fmt.Fprintf(out, "Note: the node in %s does not use the kit's grid (introducer %s), so it may not find the folders. A new node joins it with: lafs create-node --introducer %s DIR\n",
				nodeDir, strings.Join(sortedValues(k.Grid.Introducers), ", "), sortedValues(k.Grid.Introducers)[0])
		}
		return nil
	}
	host, _ := os.Hostname()
	c, err := storagenode.Create(nodeDir, storagenode.CreateOptions{Nickname: host, Introducers: k.Grid.Introducers})
	if err != nil {
		return fmt.Errorf("create the node in %s: %w", nodeDir, err)
	}
	if g := k.Grid; g.SharesTotal > 0 {
		c.SharesNeeded, c.SharesHappy, c.SharesTotal = g.SharesNeeded, g.SharesHappy, g.SharesTotal
		if err := config.Save(nodeDir, c); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Created a node in %s, joined to the kit's grid (%s), encoding %d-of-%d.\n", nodeDir,
		countOf(len(k.Grid.Introducers), "introducer"), c.SharesNeeded, c.SharesTotal)
	if k.Grid.Local {
		fmt.Fprintln(out, "Note: the kit's node stored its files on its own local grid, on the old computer: the folders come back only while that grid can be reached.")
	}
	return nil
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func printAliases(out io.Writer, ar recovery.AliasResult) {
	if len(ar.Added) > 0 {
		fmt.Fprintf(out, "Aliases added: %s\n", strings.Join(ar.Added, ", "))
	}
	if len(ar.Same) > 0 {
		fmt.Fprintf(out, "Aliases already here: %s\n", strings.Join(ar.Same, ", "))
	}
	if len(ar.Different) > 0 {
		fmt.Fprintf(out, "Aliases kept as they were (this node has another directory under the name): %s\n", strings.Join(ar.Different, ", "))
	}
}

// restoreFolders adds the kit's folders through the running node, or
// says how when none runs.
func restoreFolders(cmd *cobra.Command, opts *options, file string, k *recovery.Kit, into string, showCaps bool) error {
	out := cmd.OutOrStdout()
	if len(k.Folders) == 0 {
		fmt.Fprintln(out, "The kit holds no folders.")
		return nil
	}
	s, err := dialSync(opts)
	if err == nil {
		if _, err = s.folders(cmd.Context()); err != nil {
			err = s.explain(err)
		}
	}
	var nn *noNodeError
	if errors.As(err, &nn) {
		lafs := "lafs -d " + client.ShellQuote(opts.nodeDir)
		fmt.Fprintf(out, "No node is running for %s, so the folders are not added yet. Start it (%s run, or %s daemon for this computer's own grid) and run this again:\n  %s recovery-kit restore %s\n",
			opts.nodeDir, lafs, lafs, lafs, client.ShellQuote(file))
		fmt.Fprintln(out, "or add the folders yourself:")
		for _, r := range k.Requests(into) {
			c, flag := r.To, "--to"
			line := ""
			if !showCaps {
				c = "WRITECAP"
			}
			if r.Follow != "" {
				if !showCaps {
					c = "READCAP"
				}
				line = fmt.Sprintf("  %s sync follow %s %s --name %s", lafs, c, client.ShellQuote(r.Path), client.ShellQuote(r.Name))
			} else {
				line = fmt.Sprintf("  %s sync add %s --name %s %s %s", lafs, client.ShellQuote(r.Path), client.ShellQuote(r.Name), flag, c)
			}
			fmt.Fprintln(out, line)
		}
		if !showCaps {
			fmt.Fprintln(out, "(--show-caps prints these with the folders' caps in place of WRITECAP and READCAP.)")
		}
		return nil
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range recovery.RestoreFolders(cmd.Context(), s.c, k, into) {
		capNote := ""
		if showCaps {
			for _, f := range k.Folders {
				if f.Name == r.Name {
					capNote = " (" + f.Cap + ")"
				}
			}
		}
		switch {
		case r.Exists:
			fmt.Fprintf(out, "%s: left as it is: %v\n", r.Name, s.explain(r.Err))
		case r.Err != nil:
			failed++
			fmt.Fprintf(out, "%s: not restored: %v\n", r.Name, s.explain(r.Err))
		case r.Mode == recovery.ModeFollow:
			fmt.Fprintf(out, "%s: following again into %s (read-only)%s\n", r.Name, r.Path, capNote)
		default:
			fmt.Fprintf(out, "%s: syncing again in %s%s\n", r.Name, r.Path, capNote)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s not restored (see above); run this again to retry them", countOf(failed, "folder"))
	}
	fmt.Fprintf(out, "Done. The files arrive as the folders sync: lafs -d %s sync status\n", client.ShellQuote(opts.nodeDir))
	return nil
}

// passphrase reads the kit's passphrase: from file ("-": standard input),
// or from the terminal without echo, asked twice when confirm (export,
// which also says how strong it is and refuses a weak one).
func passphrase(cmd *cobra.Command, file string, confirm bool) (string, error) {
	if file != "" {
		var b []byte
		var err error
		if file == "-" {
			b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return "", fmt.Errorf("read the passphrase: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSuffix(line, "\r")
		if confirm {
			if err := recovery.CheckPassphrase(line); err != nil {
				return "", err
			}
		}
		return line, nil
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok {
		return "", errors.New("no terminal to ask the passphrase on: give it with --passphrase-file FILE")
	}
	errw := cmd.ErrOrStderr()
	ask := func(prompt string) (string, error) {
		fmt.Fprint(errw, prompt)
		p, err := ttypass.Read(in)
		fmt.Fprintln(errw)
		if errors.Is(err, ttypass.ErrNoTerminal) {
			return "", errors.New("no terminal to ask the passphrase on: give it with --passphrase-file FILE")
		}
		return p, err
	}
	if !confirm {
		return ask("Recovery kit passphrase: ")
	}
	fmt.Fprintf(errw, "Choose a passphrase for the recovery kit: at least %d characters, not easy to guess (four or five unrelated words are good). Nothing is shown as you type.\n", recovery.MinLength)
	for range 3 {
		p, err := ask("Passphrase: ")
		if err != nil {
			return "", err
		}
		st := recovery.Estimate(p)
		if !st.OK {
			fmt.Fprintf(errw, "Too weak: %s\n", st.Advice)
			continue
		}
		fmt.Fprintf(errw, "Strength: %s.\n", st.Level)
		again, err := ask("Again, to be sure: ")
		if err != nil {
			return "", err
		}
		if again != p {
			fmt.Fprintln(errw, "The two do not match; once more.")
			continue
		}
		return p, nil
	}
	return "", errors.New("no passphrase chosen: the recovery kit was not written")
}

func countOf(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "s"):
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
