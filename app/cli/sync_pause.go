package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newSyncPauseCmd(opts *options) *cobra.Command {
	var d time.Duration
	cmd := &cobra.Command{
		Use:   "pause [FOLDER] [--for 30m]",
		Short: "Pause syncing FOLDER, or every folder (until resumed, or --for a while)",
		Long: `pause stops FOLDER (every folder without one) from uploading and downloading: changes on
either side wait. With --for (e.g. 30m, 2h) it resumes on its own after that long; without,
it stays paused, across restarts, until 'lafs sync resume'.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if d < 0 {
				return fmt.Errorf("--for %v: want a positive duration, e.g. 30m", d)
			}
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			until := "until resumed (lafs sync resume)"
			if d > 0 {
				until = "until " + time.Now().Add(d).Format("15:04:05") + fmt.Sprintf(" (%v)", d)
			}
			if len(args) == 0 {
				l, err := s.c.PauseAll(cmd.Context(), d)
				if err != nil {
					return s.explain(err)
				}
				fmt.Fprintf(out, "Paused every folder (%d) %s.\n", len(l), until)
				return nil
			}
			f, err := s.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := s.c.Pause(cmd.Context(), f.Name, d)
			if err != nil {
				return s.explain(err)
			}
			if st.PausedUntil != nil {
				until = "until " + st.PausedUntil.Local().Format("15:04:05")
			}
			fmt.Fprintf(out, "Paused %s %s.\n", st.Name, until)
			return nil
		},
	}
	cmd.Flags().DurationVar(&d, "for", 0, "resume on its own after this long (e.g. 30m, 2h)")
	return cmd
}

func newSyncResumeCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "resume [FOLDER]",
		Short: "Resume syncing FOLDER, or every folder",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				l, err := s.c.ResumeAll(cmd.Context())
				if err != nil {
					return s.explain(err)
				}
				fmt.Fprintf(out, "Resumed every folder (%d).\n", len(l))
				return nil
			}
			f, err := s.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := s.c.Resume(cmd.Context(), f.Name)
			if err != nil {
				return s.explain(err)
			}
			fmt.Fprintf(out, "Resumed %s: %s.\n", st.Name, st.State)
			return nil
		},
	}
}

func newSyncRemoveCmd(opts *options) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "remove FOLDER [--keep-remote]",
		Short: "Stop syncing FOLDER; its local files are left as they are",
		Long: `remove stops syncing FOLDER on this device and forgets it here. Its local files are left
as they are. --keep-remote keeps its grid directory as it is, so that other devices
holding its cap go on syncing it and it can be added again with 'lafs sync add DIR --to'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := dialSync(opts)
			if err != nil {
				return err
			}
			f, err := s.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := s.c.Remove(cmd.Context(), f.Name, keep); err != nil {
				return s.explain(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Stopped syncing %s (%s); the local files are untouched.\n", f.Name, f.Path)
			if keep {
				fmt.Fprintf(out, "Its grid directory is kept: other devices keep syncing it.\n")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-remote", false, "keep the folder's grid directory as it is")
	return cmd
}
