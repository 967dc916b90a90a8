package cli

import (
	"fmt"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/syncer/api"
)

func newSyncShareCmd(opts *options) *cobra.Command {
	var write, snapshot bool
	cmd := &cobra.Command{
		Use:   "share FOLDER [--write|--snapshot]",
		Short: "Print FOLDER's read cap to share it (--write: the write cap for your own devices)",
		Long: `share prints FOLDER's read cap (URI:DIR2-RO:… or URI:DIR2-MDMF-RO:…), and a QR code of it
when the output is a terminal. A friend mirrors the folder with 'lafs sync follow READCAP
DIR' and sees your later changes, or browses it with stock Tahoe-LAFS (tahoe ls, tahoe cp -r).
--snapshot shares a frozen copy of the folder as it is now instead (URI:DIR2-CHK:…).
--write prints the write cap, for your own other devices ('lafs sync add DIR --to WRITECAP'):
it grants full control of the folder, so give it to no one else.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := api.ShareRead
			switch {
			case write:
				kind = api.ShareWrite
			case snapshot:
				kind = api.ShareSnapshot
			}
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			f, err := s.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sh, err := s.c.Share(cmd.Context(), f.Name, kind)
			if err != nil {
				return s.failed("share "+f.Name, err)
			}
			if kind == api.ShareWrite {
				fmt.Fprintf(cmd.ErrOrStderr(), "Warning: this is the WRITE cap of folder %s. Whoever holds it can change and delete every file in it, on every device. Use it only on your own devices: lafs sync add DIR --to WRITECAP\n", f.Name)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, sh.Cap)
			if isTerminal(out) {
				q, err := qrcode.New(sh.Cap, qrcode.Low)
				if err != nil {
					return fmt.Errorf("QR code: %w", err)
				}
				fmt.Fprint(out, q.ToSmallString(false))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&write, "write", false, "print the write cap (full control: for your own devices only)")
	cmd.Flags().BoolVar(&snapshot, "snapshot", false, "share a frozen immutable copy of the folder as it is now")
	cmd.MarkFlagsMutuallyExclusive("write", "snapshot")
	return cmd
}
