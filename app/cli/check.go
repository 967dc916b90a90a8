package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/immutable"
)

func newCheckCmd(opts *options) *cobra.Command {
	var verify, repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "check [--verify] [--repair] CAP|alias:path",
		Short: "Check an immutable file's shares; --verify reads every block, --repair restores missing shares",
		Long: `check finds every share of an immutable file and prints one line on its health; --verify
also downloads and checks every block, --repair regenerates and places missing shares.
It exits with status 2 if the file is not recoverable.

With --json it prints one JSON object instead (after a repair, the state after it):

  {"Shares": {"0": ["SERVER-ID", ...], ...}, "Needed": 3, "Total": 10, "Happiness": 10,
   "Recoverable": true, "Healthy": true, "Bad": null, "Verified": false, "repaired": 7}

Shares maps share numbers to the IDs of the servers holding them; Bad lists shares
that failed verification or could not be listed ({"Server", "Share", "Reason"}); repaired
(shares placed) is present only when --repair placed shares. Fields may be added; none
will change meaning.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			res, err := e.Imm.Check(cmd.Context(), c, verify)
			if err != nil {
				return err
			}
			var repaired *int
			if repair && !res.Healthy {
				rr, err := e.Imm.Repair(cmd.Context(), c, verify)
				if err != nil {
					return err
				}
				if !asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "repaired: placed %d shares\n", rr.Placed)
				}
				res, repaired = rr.After, &rr.Placed
			}
			if asJSON {
				err := json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					*immutable.CheckResult
					Repaired *int `json:"repaired,omitempty"`
				}{res, repaired})
				if err != nil {
					return err
				}
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), res.Summary())
			}
			if !res.Recoverable {
				return exitError{2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "download and check every block of every share")
	cmd.Flags().BoolVar(&repair, "repair", false, "regenerate and place missing shares")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
