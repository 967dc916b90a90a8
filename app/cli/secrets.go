package cli

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/secrets"
	"github.com/lafssync/lafssync/node/config"
)

var (
	keyringOnce   sync.Once
	keyringStores *secrets.Stores
)

// UseKeyring makes this process keep the node's root dircap aliases and
// web API token in the OS keyring when a session bus offers one, else in
// their 0600 files (app/secrets): the node packages read and write them
// through it. Calls after the first do nothing.
func UseKeyring() *secrets.Stores {
	keyringOnce.Do(func() { keyringStores, _ = secrets.Install(secrets.Options{}) })
	return keyringStores
}

// The programs built on this package — lafs, and the tray app through
// app/appnode — run a node and lafs commands on the same node directory,
// so they must agree on where its aliases and token are from their first
// line on: a node that read the files while lafs had moved them into the
// keyring would renew no leases for the aliases' directories. Install
// touches neither the keyring nor the disk.
func init() { UseKeyring() }

func newSecretsCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Where the node's secrets are (the OS keyring or 0600 files), and Tahoe's files on request",
		Long: `The node keeps its folder caps, its root dircap aliases and its web API token in the OS
keyring (the Secret Service, the macOS Keychain, the Windows Credential Manager) when one is
available, else in 0600 files under NODEDIR/private; they move into the keyring by themselves
when it becomes available. LAFSSYNC_KEYRING=off keeps them in the files.

A stock tahoe CLI pointed at the node directory reads NODEDIR/private/aliases and
NODEDIR/private/api_auth_token, which do not exist while the keyring holds them: 'lafs secrets
export-tahoe' writes them (0600) and keeps them up to date, and merges back what a tahoe CLI
adds; 'lafs secrets export-tahoe --stop' moves them back into the keyring only. As aliases
found in the file are merged back, 'lafs secrets remove-alias NAME' is how one is dropped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			printWhere(cmd, opts.nodeDir)
			return nil
		},
	}
	var stop bool
	export := &cobra.Command{
		Use:   "export-tahoe [--stop]",
		Short: "Write private/aliases and private/api_auth_token for a stock tahoe CLI (--stop: remove them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st := UseKeyring()
			out := cmd.OutOrStdout()
			if stop {
				left, err := st.StopExport(opts.nodeDir)
				if err != nil {
					return err
				}
				if len(left) > 0 {
					fmt.Fprintf(out, "No OS keyring is available, so these files stay (they are the only copy): %s\n", strings.Join(left, ", "))
				} else {
					fmt.Fprintln(out, "Tahoe's files are removed; the OS keyring holds the aliases and the web API token.")
				}
				return nil
			}
			files, err := st.ExportTahoe(opts.nodeDir)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				fmt.Fprintln(out, "This node has no aliases and no web API token yet: nothing written. They will be written when they are made.")
				return nil
			}
			fmt.Fprintf(out, "Written, readable only by you: %s\nLAFS Sync keeps them up to date and merges back what a tahoe CLI adds; 'lafs secrets export-tahoe --stop' removes them.\n", strings.Join(files, ", "))
			return nil
		},
	}
	export.Flags().BoolVar(&stop, "stop", false, "move the files back into the OS keyring and remove them")
	cmd.AddCommand(export, newRemoveAliasCmd(opts))
	return cmd
}

// tokenUnreachable is, when the token is in a keyring that did not
// answer the last ReadToken, why; "" otherwise.
func tokenUnreachable(nodeDir string) string {
	st := UseKeyring().Store(nodeDir, secrets.APIToken)
	if _, err := os.Lstat(st.Item().Marker); err != nil {
		return ""
	}
	return st.Unavailable()
}

func newRemoveAliasCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-alias NAME",
		Short: "Forget the alias NAME: (its directory stays on the grid)",
		Long: `remove-alias forgets an alias, wherever the aliases are kept (the OS keyring, and
private/aliases when exported for Tahoe): with the aliases in the keyring, editing
private/aliases cannot remove one, as aliases found in the file are merged back. The directory
stays on the grid; without its cap (lafs list-aliases --show-caps shows it, or a recovery kit
holds it) it cannot be reached again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSuffix(args[0], ":")
			aliases, err := config.LoadAliases(opts.nodeDir)
			if err != nil {
				return err
			}
			if _, ok := aliases[name]; !ok {
				return fmt.Errorf("there is no alias %q (lafs list-aliases lists them)", name)
			}
			delete(aliases, name)
			if err := config.SaveAliases(opts.nodeDir, aliases); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Alias %q removed\n", name)
			return nil
		},
	}
}

// printWhere prints where each of the node's secrets is (no keyring call).
func printWhere(cmd *cobra.Command, nodeDir string) {
	lines := secrets.WhereAll(nodeDir)
	if len(lines) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "This node has no folder caps, aliases or web API token yet.")
	}
	for _, l := range lines {
		fmt.Fprintln(cmd.OutOrStdout(), l)
	}
}

// tokenWhere is where the banner says the web API token is: its file
// when there is one (also when exported for Tahoe), else the keyring.
func tokenWhere(nodeDir string) string {
	it := secrets.APIToken(nodeDir)
	if _, err := os.Lstat(it.File); err != nil {
		if _, err := os.Lstat(it.Marker); err == nil {
			return fmt.Sprintf("the OS keyring, service %q", secrets.Service)
		}
	}
	return it.File
}
