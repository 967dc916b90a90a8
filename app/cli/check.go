package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/mutable"
	"github.com/lafssync/lafssync/node/client"
)

func newCheckCmd(opts *options) *cobra.Command {
	var verify, repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "check [--verify] [--repair] CAP|alias:path",
		Short: "Check one file's or directory's shares; --verify reads every block, --repair restores them",
		Long: `check finds every share of one object (an immutable file, a mutable file or a directory)
and prints one line on its health; --verify also downloads and checks every block, --repair
regenerates and places missing or damaged shares (an immutable file) or publishes the
object again (a mutable file or directory: that needs its write cap), then checks it again
as deeply and prints that result. To check everything below a directory, use deep-check.
A small file stored in its cap itself (a LIT cap) has no shares and is always healthy.
The exit status is 2 if the object is unhealthy (after the repair, with --repair) or not
recoverable.

With --json it prints one JSON object instead (after a repair, the state after it):

  {"Shares": {"0": ["SERVER-ID", ...], ...}, "Needed": 3, "Total": 10, "Happiness": 10,
   "Recoverable": true, "Healthy": true, "Bad": null, "Verified": false, "repaired": 7,
   "kind": "CHK"}

Shares maps share numbers to the IDs of the servers holding them; Bad lists shares
that failed verification or could not be listed ({"Server", "Share", "Reason"}); repaired
(shares placed) is present only when --repair placed shares of an immutable file. A mutable
object has "Version" and "Versions" instead of "Happiness" and "republished" when a repair
published it. Fields may be added; none will change meaning.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, c, err := openCap(cmd, opts, args[0])
			if err != nil {
				return err
			}
			ck := checker{e: e, out: cmd.OutOrStdout(), verify: verify, repair: repair, json: asJSON}
			var healthy bool
			switch {
			case c.IsMutable():
				healthy, err = ck.mutable(cmd.Context(), c)
			default:
				if _, ok := c.StorageIndex(); !ok {
					healthy, err = ck.literal(c)
				} else {
					healthy, err = ck.immutable(cmd.Context(), c)
				}
			}
			if err != nil {
				return fmt.Errorf("check %s: %w", args[0], err)
			}
			if !healthy {
				return exitError{2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "download and check every block of every share")
	cmd.Flags().BoolVar(&repair, "repair", false, "regenerate and place missing or damaged shares")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// checker checks (and repairs) one object and prints the result.
type checker struct {
	e                    *client.Client
	out                  io.Writer
	verify, repair, json bool
}

func (k *checker) print(kind cap.Kind, v any, summary string) error {
	if !k.json {
		_, err := fmt.Fprintln(k.out, summary)
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Add "kind" beside the result's own fields.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	m["kind"] = kind
	return json.NewEncoder(k.out).Encode(m)
}

// literal reports a LIT file: its bytes are in the cap, not on servers.
func (k *checker) literal(c cap.Cap) (bool, error) {
	size := int64(0)
	if n := cap.Describe(c).Size; n != nil {
		size = *n
	}
	return true, k.print(c.Kind(), map[string]any{"Recoverable": true, "Healthy": true, "Literal": true, "Size": size},
		fmt.Sprintf("healthy: this %d-byte file is stored in the cap itself (a LIT cap): it has no shares on any server, so there is nothing to check or repair", size))
}

func (k *checker) immutable(ctx context.Context, c cap.Cap) (bool, error) {
	res, err := k.e.Imm.Check(ctx, c, k.verify)
	if err != nil {
		return false, err
	}
	var repaired *int
	if k.repair && !res.Healthy {
		if !res.Recoverable {
			if err := k.print(c.Kind(), res, res.Summary()+notOnGrid(len(res.Shares))); err != nil {
				return false, err
			}
			return false, nil
		}
		rr, err := k.e.Imm.Repair(ctx, c, k.verify)
		if err != nil {
			return false, err
		}
		if !k.json {
			fmt.Fprintf(k.out, "before repair: %s\nrepaired: placed %d shares\n", rr.Before.Summary(), rr.Placed)
		}
		res, repaired = rr.After, &rr.Placed
	}
	v := struct {
		*immutable.CheckResult
		Repaired *int `json:"repaired,omitempty"`
	}{res, repaired}
	summary := res.Summary()
	if repaired != nil {
		summary = "after repair: " + summary
	}
	if !res.Recoverable {
		summary += notOnGrid(len(res.Shares))
	}
	return res.Healthy, k.print(c.Kind(), v, summary)
}

// notOnGrid explains an unrecoverable result with no shares at all.
func notOnGrid(found int) string {
	if found > 0 {
		return ""
	}
	return "\n(no server has any of its shares: it is not on this grid, or its shares expired or were deleted)"
}

func (k *checker) mutable(ctx context.Context, c cap.Cap) (bool, error) {
	fc := c
	if d, ok := c.(*cap.Dir); ok {
		fc = d.File
	}
	if fc.ReadOnly() == nil {
		return false, fmt.Errorf("%s is a verify cap: checking a mutable object needs its read or write cap", cap.Redacted(c))
	}
	f, err := mutable.Open(fc.String(), k.e.Dirs.Servers, k.e.Dirs.Options)
	if err != nil {
		return false, err
	}
	res, err := f.Check(ctx, k.verify)
	if errors.Is(err, mutable.ErrNotFound) {
		what := "this mutable file"
		if c.IsDir() {
			what = "this directory"
		}
		res := &mutable.CheckResult{}
		return false, k.print(c.Kind(), res, fmt.Sprintf("NOT RECOVERABLE: no server has any share of %s: it is not on this grid, or its shares expired or were deleted", what))
	}
	if err != nil {
		return false, err
	}
	var republished *mutable.Version
	if k.repair && !res.Healthy {
		if !res.Recoverable {
			return false, k.print(c.Kind(), res, res.Summary())
		}
		if f.WriteCap() == "" {
			if !k.json {
				fmt.Fprintln(k.out, res.Summary())
			}
			return false, fmt.Errorf("not repaired: %w (this is a read-only cap)", mutable.ErrRepairNeedsWriteCap)
		}
		rr, err := f.Repair(ctx, k.verify)
		if err != nil {
			return false, err
		}
		if !k.json {
			fmt.Fprintf(k.out, "before repair: %s\nrepaired: published again as %v\n", rr.Before.Summary(), rr.Republished)
		}
		res, republished = rr.After, &rr.Republished
		v := struct {
			*mutable.CheckResult
			Republished *mutable.Version `json:"republished,omitempty"`
		}{res, republished}
		return res.Healthy, k.print(c.Kind(), v, "after repair: "+res.Summary())
	}
	return res.Healthy, k.print(c.Kind(), res, res.Summary())
}
