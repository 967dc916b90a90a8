package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/fullnode"
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
to tahoe.cfg: checked first, the old file kept as tahoe.cfg.bak, replaced atomically; then the
running node takes it: at once when it can ([client] helper), otherwise by restarting itself in
its process ('lafs run'). A node that cannot (run by 'lafs daemon') is to be restarted. --json prints the report (the status document's node.reach).
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
				fmt.Fprintf(out, "The old tahoe.cfg is kept as %s.\n", nat.BackupFile)
				fmt.Fprintln(out, takeEffect(cmd, opts))
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

// takeEffect asks the running node to take tahoe.cfg's changes (POST
// /node/reload, fullnode.RunRestarting) and says what happened: taken at
// once, taken by a restart in its process (it waits for the new run to
// answer), or that the user must restart it.
func takeEffect(cmd *cobra.Command, opts *options) string {
	restartHint := fmt.Sprintf("Restart the node for it to take effect: stop it, then 'lafs -d %s run' (or 'lafs daemon') again.", client.ShellQuote(opts.nodeDir))
	base, token, err := nodeAPI(opts.nodeDir)
	if err != nil {
		return "No node is running in " + opts.nodeDir + ": it takes the change when it starts."
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	call := func(method, base string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(cmd.Context(), method, base+"node/reload", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, b, nil
	}
	code, body, err := call(http.MethodPost, base)
	switch {
	case err != nil:
		return "The running node did not answer (" + err.Error() + "). " + restartHint
	case code == http.StatusNotFound:
		return "The running node cannot take changes while it runs (an older version of LAFS Sync). " + restartHint
	case code != http.StatusOK:
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		return fmt.Sprintf("The running node did not take the change: %s. %s", strings.TrimSpace(e.Error), restartHint)
	}
	var res fullnode.ReloadResult
	if err := json.Unmarshal(body, &res); err != nil {
		return "The running node's answer is not understood (" + err.Error() + "). " + restartHint
	}
	if !res.Restarting {
		if len(res.Live) == 0 {
			return "The running node already runs with this setting."
		}
		return fmt.Sprintf("The running node took %s at once; its connections stay up.", strings.Join(res.Live, ", "))
	}
	// The node restarts in its process: wait for the new run to answer
	// (its web API may move to another port: node.url is read anew).
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		b, _, err := nodeAPI(opts.nodeDir)
		if err != nil {
			continue
		}
		code, body, err := call(http.MethodGet, b)
		var info fullnode.RunInfo
		if err == nil && code == http.StatusOK && json.Unmarshal(body, &info) == nil && info.Generation >= res.Generation {
			return fmt.Sprintf("The running node restarted in its process to take %s, and runs with it now (it reconnects to its peers).", strings.Join(res.Changed, ", "))
		}
	}
	return "The running node began to restart for the change but has not answered for 90 s: see its log, or " + strings.ToLower(restartHint[:1]) + restartHint[1:]
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
