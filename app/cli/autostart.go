package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/autostart"
)

func newAutostartCmd() *cobra.Command {
	var program string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "autostart [on|off|status]",
		Short: "Start the LAFS Sync tray app when you log in (on, off, or show the setting)",
		Long: `autostart turns starting LAFS Sync's tray app at login on or off for you (no
administrator rights needed), or shows whether it is on (the default).

  Linux:   ~/.config/autostart/lafssync.desktop
  Windows: HKCU\Software\Microsoft\Windows\CurrentVersion\Run, value "LAFS Sync"
  macOS:   ~/Library/LaunchAgents/org.lafssync.lafsync.plist

The tray app is looked for beside lafs (or the running AppImage); --program names it.
For a headless server, use the systemd unit in docs/packaging.md instead.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"on", "off", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "status"
			if len(args) == 1 {
				what = args[0]
			}
			out := cmd.OutOrStdout()
			switch what {
			case "on":
				if program == "" {
					p, err := autostart.FindTrayApp()
					if err != nil {
						return err
					}
					program = p
				}
				if err := autostart.Enable(autostart.TrayEntry(program)); err != nil {
					return fmt.Errorf("turn on start at login: %w", err)
				}
			case "off":
				if err := autostart.Disable(); err != nil {
					return fmt.Errorf("turn off start at login: %w", err)
				}
			case "status":
			default:
				return fmt.Errorf("autostart %q: want on, off or status", what)
			}
			st, err := autostart.Get()
			if err != nil {
				return fmt.Errorf("read the start-at-login setting: %w", err)
			}
			if asJSON {
				return printJSON(out, st)
			}
			if st.Enabled {
				fmt.Fprintf(out, "Start at login: on (%s starts %s)\n", st.Where, st.Program)
			} else {
				fmt.Fprintf(out, "Start at login: off (turn it on with: lafs autostart on)\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&program, "program", "", "the tray app to start (default: lafsync beside lafs, or the running AppImage)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the setting as JSON")
	return cmd
}
