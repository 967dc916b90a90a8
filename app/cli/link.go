package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
	"github.com/lafssync/lafssync/node/client"
)

// ln, mv and rm change links in directories, as Tahoe's commands of the
// same names do: ln and mv replace an existing file at the target but
// never a directory, and make missing parent directories of the target.

func newLnCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "ln FROM TO",
		Short: "Link FROM (a cap or alias:path) at TO (alias:path) as well",
		Long: `ln adds a link: the child FROM names (a cap, or alias:path) is linked at TO too.
TO ending in a slash (alias:dir/) links it inside that directory under FROM's last name.
An existing file at TO is replaced; an existing directory is not. Missing parent
directories of TO are made.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, from, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var child *dirnode.Entry
			if len(from.Names) == 0 {
				c, err := cap.Parse(from.Root)
				if err != nil {
					return fmt.Errorf("ln %s: %w", from.Shown(0), err)
				}
				child = client.CapEntry(c)
			} else {
				src, err := e.WalkDir(ctx, from, len(from.Names)-1, false)
				if err != nil {
					return err
				}
				if child, err = e.Lookup(ctx, from, src); err != nil {
					return err
				}
			}
			dst, name, err := linkTarget(ctx, e, from, args[1], child)
			if err != nil {
				return err
			}
			if err := dst.D.Set(ctx, name, child.ReadCap, child.WriteCap, child.Metadata, true); err != nil {
				return dst.LinkError(name, err)
			}
			return nil
		},
	}
}

func newMvCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "mv FROM TO",
		Short: "Move (rename) the link FROM (alias:path) to TO (alias:path)",
		Long: `mv renames a link, within a directory or into another one. TO ending in a slash
(alias:dir/) moves FROM into that directory under its own name. An existing file at TO
is replaced; an existing directory is not. Missing parent directories of TO are made.

Between directories the child is linked at TO first and unlinked from FROM second, so
if the second step fails the child is in both places (remove one with 'lafs rm'), never
in neither. Within one directory the rename is a single write.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, from, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(from.Names) == 0 {
				return fmt.Errorf("mv: %s names no link to move: give alias:path (to link a cap somewhere, use 'lafs ln')", from.Shown(0))
			}
			src, err := e.WalkDir(ctx, from, len(from.Names)-1, false)
			if err != nil {
				return err
			}
			child, err := e.Lookup(ctx, from, src)
			if err != nil {
				return err
			}
			dst, name, err := linkTarget(ctx, e, from, args[1], child)
			if err != nil {
				return err
			}
			// A directory moved beneath itself would be reachable only from
			// inside itself: lost. (Only the path walked to TO is known, so
			// this catches the mistakes made by typing, not every cycle.)
			if c := cap.ParseChild(child.ReadCap); c.IsDir() {
				si, _ := c.StorageIndex()
				for _, s := range dst.Chain {
					if s == si {
						return fmt.Errorf("mv: cannot move %s into itself (%s)", from.String(), args[1])
					}
				}
			}
			oldName := from.Names[len(from.Names)-1]
			if src.SI == dst.SI {
				d := src.D
				if d.ReadOnly() {
					d = dst.D // the same directory, reached by a writable cap
				}
				if err := d.Rename(ctx, oldName, name, true); err != nil {
					return dst.LinkError(name, err)
				}
				return nil
			}
			if src.D.ReadOnly() {
				return fmt.Errorf("mv: %s is read-only, so %s cannot be unlinked from it (to add a link only, use 'lafs ln')", src.Shown, args[0])
			}
			if err := dst.D.Set(ctx, name, child.ReadCap, child.WriteCap, child.Metadata, true); err != nil {
				return dst.LinkError(name, err)
			}
			if err := src.D.Delete(ctx, oldName); err != nil {
				return fmt.Errorf("mv: linked at %s, but could not unlink %s (it is in both now; remove it with 'lafs rm %s'): %w",
					args[1], args[0], client.ShellQuote(args[0]), err)
			}
			return nil
		},
	}
}

func newRmCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:     "rm alias:path",
		Aliases: []string{"unlink"},
		Short:   "Remove the link alias:path from its directory",
		Long: `rm unlinks alias:path from its directory (Tahoe's rm and unlink). The child itself is
not deleted: anyone holding its cap can still read it, and other links to it stay.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, t, err := openTarget(opts, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(t.Names) == 0 {
				return fmt.Errorf("rm: %s is a whole directory, not a link in one: give alias:path/NAME", t.Shown(0))
			}
			parent, err := e.WalkDir(ctx, t, len(t.Names)-1, false)
			if err != nil {
				return err
			}
			name := t.Names[len(t.Names)-1]
			err = parent.D.Delete(ctx, name)
			switch {
			case errors.Is(err, dirnode.ErrNotFound):
				return t.NoEntry(len(t.Names) - 1)
			case errors.Is(err, dirnode.ErrReadOnly):
				return fmt.Errorf("rm: %s is read-only: unlink with a writable cap of it", t.Shown(len(t.Names)-1))
			}
			return err
		},
	}
}

// openTarget opens the node's client and parses s against its aliases.
func openTarget(opts *options, s string) (*client.Client, *client.Path, error) {
	e, err := client.Open(opts.nodeDir)
	if err != nil {
		return nil, nil, err
	}
	t, err := e.ParsePath(s)
	return e, t, err
}

// linkTarget resolves the TO of ln and mv (a link named as FROM's last
// name when TO names a directory), making missing parents. It refuses to
// replace a directory.
func linkTarget(ctx context.Context, e *client.Client, from *client.Path, to string, child *dirnode.Entry) (*client.Dir, string, error) {
	t, err := e.ParsePath(to)
	if err != nil {
		return nil, "", err
	}
	dst, name, err := e.LinkTarget(ctx, t, child, client.LinkOptions{Name: from.Last(), Replace: dirnode.ReplaceFiles})
	var nn *client.NoNameError
	if errors.As(err, &nn) {
		return nil, "", fmt.Errorf("a cap has no name to link it under: end TO with the name, e.g. %s", client.JoinShown(nn.Dir, "NAME"))
	}
	return dst, name, err
}
