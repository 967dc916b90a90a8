// Package cli implements the lafs command line: the headless daemon and
// the tools around it. Commands are small cobra commands that parse
// arguments and call into grid/ and node/; they hold no logic of their own.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/internal/version"
)

// exitError carries a specific exit status out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// DefaultNodeDir is where the node lives unless -d says otherwise:
// $LAFSSYNC_HOME, else the user config dir (~/.config/lafssync/node on Linux).
func DefaultNodeDir() string {
	if d := os.Getenv("LAFSSYNC_HOME"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "lafssync", "node")
	}
	return ".lafssync-node"
}

type options struct {
	nodeDir string
}

// NewRoot builds the lafs command tree.
func NewRoot() *cobra.Command {
	opts := &options{}
	root := &cobra.Command{
		Use:   "lafs",
		Short: "LAFS Sync's node and command-line tools (Tahoe-LAFS compatible)",
		Long: `lafs is the headless side of LAFS Sync: a Tahoe-LAFS-compatible node and the tools
around it. The tray app (lafsync) runs the same node with a window and a tray icon.`,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&opts.nodeDir, "node-directory", "d", DefaultNodeDir(), "the node directory")
	root.SetVersionTemplate(version.Name + " (lafs) {{.Version}}\n")
	// Every command is registered here, and only here.
	root.AddCommand(
		// Running nodes and grids.
		newDaemonCmd(opts),
		newRunCmd(opts),
		newGridCmd(opts),
		newStatusCmd(opts),
		newReachabilityCmd(opts),
		newCreateNodeCmd(opts),
		newAutostartCmd(),
		newCreateIntroducerCmd(opts),
		newInviteCmd(opts), newJoinCmd(opts),
		newTahoeServersYAMLCmd(opts),
		// Folder sync.
		newSyncCmd(opts),
		newRecoveryKitCmd(opts),
		// Files and directories.
		newPutCmd(opts),
		newGetCmd(opts),
		newLsCmd(opts),
		newMkdirCmd(opts),
		newLnCmd(opts),
		newMvCmd(opts),
		newRmCmd(opts),
		newCpCmd(opts),
		newCreateAliasCmd(opts),
		newListAliasesCmd(opts),
		newSecretsCmd(opts),
		// Keeping files alive.
		newCheckCmd(opts),
		newDeepCheckCmd(opts),
		newRenewLeasesCmd(opts),
		newDebugCmd(),
	)
	withUsage(root)
	return root
}

// withUsage makes every command's argument errors end with its usage
// line, so a missing argument says what is expected.
func withUsage(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return fmt.Errorf("%s: %w\nusage: %s   (more: %s --help)", c.Name(), err, c.UseLine(), c.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		withUsage(sub)
	}
}

// Main runs the CLI with args and returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	return mainIO(args, os.Stdin, stdout, stderr)
}

// mainIO is Main reading standard input from stdin.
func mainIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(stderr, "lafs: %v\n", inUserWords(err))
		return 1
	}
	return 0
}
