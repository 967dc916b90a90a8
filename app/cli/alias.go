package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

func newCreateAliasCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "create-alias NAME",
		Short: "Make a new directory and remember it as NAME: (in private/aliases)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSuffix(args[0], ":")
			if name == "" || strings.ContainsAny(name, ":/ ") {
				return fmt.Errorf("alias %q: use letters, digits, - and _", args[0])
			}
			e, err := client.Open(opts.nodeDir)
			if err != nil {
				return err
			}
			if _, ok := e.Aliases[name]; ok {
				return fmt.Errorf("alias %q already exists", name)
			}
			d, err := e.Dirs.Create(cmd.Context())
			if err != nil {
				return err
			}
			e.Aliases[name] = d.Cap().String()
			if err := config.SaveAliases(e.Dir, e.Aliases); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Alias %q created\n", name)
			return nil
		},
	}
}

func newListAliasesCmd(opts *options) *cobra.Command {
	var showCaps, asJSON bool
	cmd := &cobra.Command{
		Use:   "list-aliases",
		Short: "List aliases (their caps only with --show-caps: they are secrets)",
		Long: `list-aliases prints the aliases, sorted, one "NAME:" a line, or "NAME: CAP" with --show-caps.

With --json it prints a JSON object keyed by alias name, as Tahoe's list-aliases --json:

  {"home": {"readwrite": "URI:DIR2:...", "readonly": "URI:DIR2-RO:..."}}

The caps are included only with --show-caps (otherwise each value is {}); readwrite is
absent for an alias that holds only a read cap.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			aliases, err := config.LoadAliases(opts.nodeDir)
			if err != nil {
				return err
			}
			if asJSON {
				type caps struct {
					ReadWrite string `json:"readwrite,omitempty"`
					ReadOnly  string `json:"readonly,omitempty"`
				}
				out := map[string]caps{}
				for name, s := range aliases {
					var cs caps
					if showCaps {
						if c, err := cap.Parse(s); err != nil {
							cs.ReadWrite = s // as Tahoe: the alias's cap, whatever it is
						} else {
							if !c.IsReadOnly() {
								cs.ReadWrite = s
							}
							if r := c.ReadOnly(); r != nil {
								cs.ReadOnly = r.String()
							}
						}
					}
					out[name] = cs
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out) // map keys are sorted
			}
			names := make([]string, 0, len(aliases))
			for name := range aliases {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				c := aliases[name]
				if showCaps {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, c)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s:\n", name)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&showCaps, "show-caps", false, "print each alias's directory cap")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
