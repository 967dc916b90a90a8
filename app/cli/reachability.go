package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/nat"
	"github.com/lafssync/lafssync/node/status"
)

func newReachabilityCmd(opts *options) *cobra.Command {
	var asJSON bool
	var apply string
	cmd := &cobra.Command{
		Use:   "reachability [--json] [--apply ADVICE-ID]",
		Short: "Say whether other nodes can reach this one, why, and what to do about it",
		Long: `Ask the running node how other nodes can reach it: the verdict (public, public via port
mapping, port-forwarded, behind NAT, behind double NAT / CGNAT, offline, unknown), the facts behind
it, what it announces, and advice, each with an ID. --apply ADVICE-ID makes that advice's change
to tahoe.cfg: checked first, the old file kept as tahoe.cfg.bak, replaced atomically; restart the
node for it to take effect. --json prints the report (the status document's node.reach).
docs/reachability.md explains the rules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := fetchReach(cmd, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if apply != "" {
				a, err := r.Find(apply)
				if err != nil {
					return err
				}
				if err := nat.Apply(opts.nodeDir, a); err != nil {
					return err
				}
				fmt.Fprintf(out, "Applied %s to %s:\n", a.ID, opts.nodeDir)
				for _, s := range a.Changes {
					fmt.Fprintf(out, "  %s\n", s)
				}
				fmt.Fprintf(out, "The old tahoe.cfg is kept as %s. Restart the node (stop it, then 'lafs run' or 'lafs daemon' again) for the change to take effect.\n", nat.BackupFile)
				return nil
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printReach(out, r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the reachability report as JSON")
	cmd.Flags().StringVar(&apply, "apply", "", "apply the advice with this ID to tahoe.cfg")
	return cmd
}

// fetchReach asks the running node for its reachability report.
func fetchReach(cmd *cobra.Command, opts *options) (nat.Report, error) {
	base, token, err := nodeAPI(opts.nodeDir)
	if err != nil {
		return nat.Report{}, err
	}
	req, _ := http.NewRequestWithContext(cmd.Context(), http.MethodGet, base+"status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nat.Report{}, fmt.Errorf("the node in %s does not answer at %s (is 'lafs run' still running?): %w", opts.nodeDir, base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return nat.Report{}, fmt.Errorf("reachability: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var s status.Document
	if err := json.Unmarshal(body, &s); err != nil {
		return nat.Report{}, fmt.Errorf("reachability: %w", err)
	}
	if s.Node == nil || s.Node.Reach == nil {
		return nat.Report{}, fmt.Errorf("the node in %s does not report its reachability (an older version?)", opts.nodeDir)
	}
	return *s.Node.Reach, nil
}

func printReach(out io.Writer, r nat.Report) {
	fmt.Fprintf(out, "Verdict: %s\n", r.Verdict)
	switch {
	case len(r.Announce) == 0:
		fmt.Fprintln(out, "Announces: no address (outbound-only: it connects out, others use its connections)")
	case r.Provisional:
		fmt.Fprintf(out, "Announces: %s (from tub.location; not confirmed by a peer yet)\n", strings.Join(r.Announce, ", "))
	default:
		fmt.Fprintf(out, "Announces: %s\n", strings.Join(r.Announce, ", "))
	}
	if !r.CheckedAt.IsZero() {
		fmt.Fprintf(out, "Checked: %s ago\n", time.Since(r.CheckedAt).Round(time.Second))
	}
	if len(r.Evidence) > 0 {
		fmt.Fprintln(out, "Why:")
		for _, e := range r.Evidence {
			fmt.Fprintf(out, "  - %s\n", e)
		}
	}
	if len(r.Advice) == 0 {
		fmt.Fprintln(out, "Advice: none")
		return
	}
	fmt.Fprintln(out, "Advice:")
	for _, a := range r.Advice {
		fmt.Fprintf(out, "  [%s] %s\n", a.ID, a.Text)
		for _, s := range a.Changes {
			fmt.Fprintf(out, "      sets %s\n", s)
		}
		fmt.Fprintf(out, "      apply: %s\n", a.Command)
	}
}

// adviceHint points from lafs status to lafs reachability when there is
// advice.
func adviceHint(r nat.Report) string {
	if len(r.Advice) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d advice: lafs reachability)", len(r.Advice))
}
