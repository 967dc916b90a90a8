package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
)

func newDebugCapCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cap CAP",
		Short: "Describe a capability: kind, storage index, encoding, derived read and verify caps",
		Long: `Describe a capability. The output includes the read cap and verify cap derived
from CAP, which are secrets as powerful as CAP allows: treat the output like CAP itself.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cap.Parse(strings.TrimSpace(args[0]))
			if err != nil {
				return fmt.Errorf("%w\nA cap looks like URI:CHK:…, URI:SSK:…, URI:DIR2:… (see 'lafs debug cap --help')", err)
			}
			in := cap.Describe(c)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			}
			line := func(k string, v any) { fmt.Fprintf(out, "%-14s %v\n", k+":", v) }
			line("kind", in.Kind)
			if in.Format != "" {
				line("format", in.Format)
			}
			line("directory", in.Directory)
			line("mutable", in.Mutable)
			line("read-only", in.ReadOnly)
			if in.StorageIndex != "" {
				line("storage index", in.StorageIndex)
			}
			if in.K > 0 {
				line("encoding", fmt.Sprintf("%d-of-%d", in.K, in.N))
			}
			if in.Size != nil {
				line("size", fmt.Sprintf("%d bytes", *in.Size))
			}
			if in.Fingerprint != "" {
				line("fingerprint", in.Fingerprint)
			}
			if in.UEBHash != "" {
				line("UEB hash", in.UEBHash)
			}
			if in.ReadCap != "" && in.ReadCap != c.String() {
				line("read cap", in.ReadCap)
			}
			if in.VerifyCap != "" && in.VerifyCap != c.String() {
				line("verify cap", in.VerifyCap)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
