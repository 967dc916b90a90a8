package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
)

func newLsCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls alias:[path]|DIRCAP",
		Short: "List a directory",
		Long: `ls lists a directory: one line per entry, "file NAME" or "dir  NAME/", sorted by name.

With --json it prints a JSON array (empty: []) of the entries, sorted by name:

  [{"name": "report.txt", "type": "file", "ro_uri": "URI:CHK:...", "metadata": {...}}]

type is "file", "dir" or "unknown"; ro_uri is the entry's read cap (a secret: anyone
holding it can read the child; write caps are never printed); metadata is the link's
metadata as stored (Tahoe's "tahoe" timestamps, "size" for files put by lafs). Fields may
be added; none will change meaning.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			s, err := e.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := e.Dirs.Open(s)
			if err != nil {
				return err
			}
			names, entries, err := d.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				type item struct {
					Name     string         `json:"name"`
					Type     string         `json:"type"`
					ReadCap  string         `json:"ro_uri,omitempty"`
					Metadata map[string]any `json:"metadata"`
				}
				items := []item{}
				for _, n := range names {
					items = append(items, item{n, entryType(entries[n].ReadCap), entries[n].ReadCap, entries[n].Metadata})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			for _, n := range names {
				kind := "file"
				if c := cap.ParseChild(entries[n].ReadCap); c.IsDir() {
					kind, n = "dir", n+"/"
				}
				fmt.Fprintf(out, "%-4s %s\n", kind, n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (read caps included: they are secrets)")
	return cmd
}

// entryType is "file", "dir" or "unknown" for a directory entry's read cap.
func entryType(readCap string) string {
	switch c := cap.ParseChild(readCap); {
	case c.Kind() == cap.KindUnknown:
		return "unknown"
	case c.IsDir():
		return "dir"
	}
	return "file"
}
