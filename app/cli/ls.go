package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/dirnode"
)

func newLsCmd(opts *options) *cobra.Command {
	var asJSON, writeCaps bool
	cmd := &cobra.Command{
		Use:   "ls alias:[path]|DIRCAP",
		Short: "List a directory",
		Long: `ls lists a directory: one line per entry, "file NAME" or "dir  NAME/", sorted by name.
A file's path lists just that file.

With --json it prints what Tahoe's 'tahoe ls --json' prints (the web API's t=json):

  ["dirnode", {"ro_uri": "URI:DIR2-RO:...", "verify_uri": "URI:DIR2-Verifier:...",
    "mutable": true, "children": {
      "report.txt": ["filenode", {"ro_uri": "URI:CHK:...", "verify_uri": "...", "mutable": false,
                                  "format": "CHK", "size": 90000, "metadata": {...}}],
      "photos": ["dirnode", {"ro_uri": "URI:DIR2-RO:...", "mutable": true, "format": "SDMF",
                             "metadata": {...}}]}}]

and ["filenode", {...}] for a file. The caps are secrets: anyone holding a read cap can
read the object. Write caps ("rw_uri") are printed only with --write-caps. metadata is the
link's metadata as stored (Tahoe's "tahoe" timestamps, "size" for files put by lafs); a
child of a kind this version does not know is ["unknown", {...}]. Fields may be added; none
will change meaning.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !c.IsDir() {
				if asJSON {
					return printJSON(out, []any{"filenode", nodeJSON(c.String(), writeCaps)})
				}
				name := cap.Redacted(c)
				if p, _ := e.ParsePath(args[0]); p != nil && p.Last() != "" {
					name = p.Last()
				}
				fmt.Fprintf(out, "file %s\n", name)
				return nil
			}
			d, err := e.Dirs.Open(c.String())
			if err != nil {
				return err
			}
			names, entries, err := d.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				top := nodeJSON(c.String(), writeCaps)
				children := map[string]any{}
				for _, n := range names {
					children[n] = childJSON(entries[n], writeCaps)
				}
				top["children"] = children
				return printJSON(out, []any{"dirnode", top})
			}
			for _, n := range names {
				kind := "file"
				if dirnode.IsDirEntry(entries[n]) {
					kind, n = "dir", n+"/"
				}
				fmt.Fprintf(out, "%-4s %s\n", kind, n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print Tahoe's JSON (read caps included: they are secrets)")
	cmd.Flags().BoolVar(&writeCaps, "write-caps", false, "with --json, include write caps (rw_uri)")
	return cmd
}

func printJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nodeJSON is Tahoe's t=json fields for the object capString names.
func nodeJSON(capString string, writeCaps bool) map[string]any {
	c := cap.ParseChild(capString)
	m := map[string]any{"mutable": c.IsMutable()}
	in := cap.Describe(c)
	if in.ReadCap != "" {
		m["ro_uri"] = in.ReadCap
	}
	if in.VerifyCap != "" {
		m["verify_uri"] = in.VerifyCap
	}
	if writeCaps && !c.IsReadOnly() && c.Kind() != cap.KindUnknown {
		m["rw_uri"] = c.String()
	}
	if in.Format != "" {
		m["format"] = in.Format
	}
	if in.Size != nil && !c.IsDir() {
		m["size"] = *in.Size
	}
	return m
}

// childJSON is a directory entry in Tahoe's t=json shape.
func childJSON(ent *dirnode.Entry, writeCaps bool) []any {
	s := ent.WriteCap
	if s == "" {
		s = ent.ReadCap
	}
	c := cap.ParseChild(s)
	var m map[string]any
	kind := "filenode"
	switch {
	case c.Kind() == cap.KindUnknown:
		kind, m = "unknown", map[string]any{}
		if ent.ReadCap != "" {
			m["ro_uri"] = ent.ReadCap
		}
		if writeCaps && ent.WriteCap != "" {
			m["rw_uri"] = ent.WriteCap
		}
	case c.IsDir():
		kind, m = "dirnode", nodeJSON(s, writeCaps)
	default:
		m = nodeJSON(s, writeCaps)
	}
	md := ent.Metadata
	if md == nil {
		md = map[string]any{}
	}
	m["metadata"] = md
	return []any{kind, m}
}
