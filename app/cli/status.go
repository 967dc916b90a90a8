package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lafssync/lafssync/app/secrets"
	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/status"
)

// nodeAPI finds the running node's web API: its URL and token.
func nodeAPI(dir string) (string, string, error) {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return "", "", fmt.Errorf("LAFS Sync has not run yet (there is no node in %s): start it with 'make run' in the source tree, or 'lafs daemon'; then try 'lafs status' again", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "node.url"))
	if err != nil {
		return "", "", fmt.Errorf("the node in %s is not running: start it with 'lafs daemon' (the local grid; 'make run' does this) or 'lafs run %s' (a node you created)", dir, client.ShellQuote(dir))
	}
	token, err := readToken(dir)
	if err != nil {
		return "", "", err
	}
	return strings.TrimSpace(string(b)), token, nil
}

func newStatusCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running node: its reachability, introducers, and the nodes it is connected to",
		Long: `Ask the running node (lafs run) for its status through its web API. --json prints the
web API's /status document as it is (docs/webapi.md): {"servers": [...], "params": {...},
"node": {id, nickname, addresses, reachability, introducers: [...], peers: [...], connections: [...]}}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, token, err := nodeAPI(opts.nodeDir)
			if err != nil {
				return err
			}
			req, _ := http.NewRequestWithContext(cmd.Context(), http.MethodGet, base+"status", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				return fmt.Errorf("the node in %s does not answer at %s (is 'lafs run' still running?): %w", opts.nodeDir, base, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status: %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				_, err := out.Write(body)
				return err
			}
			var s status.Document
			if err := json.Unmarshal(body, &s); err != nil {
				return fmt.Errorf("status: %w", err)
			}
			printStatus(out, s)
			for _, w := range secrets.WhereAll(opts.nodeDir) {
				fmt.Fprintln(out, w)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status document as JSON")
	return cmd
}

func printStatus(out io.Writer, s status.Document) {
	usable := 0
	available := map[string]uint64{}
	for _, srv := range s.Servers {
		if srv.Connected {
			usable++
		}
		available[srv.ID] = srv.Available
	}
	if n := s.Node; n != nil {
		role := "client"
		switch {
		case n.Introducer && n.Storage:
			role = "introducer and storage server"
		case n.Introducer:
			role = "introducer"
		case n.Storage:
			role = "storage server"
		}
		where := string(n.Reachability)
		if len(n.Addresses) > 0 {
			where += ": " + strings.Join(n.Addresses, ", ")
		}
		fmt.Fprintf(out, "Node %s %q (%s; %s)\n", n.ID, n.Nickname, role, where)
		if r := n.Reach; r != nil {
			fmt.Fprintf(out, "Reachability: %s%s\n", r.Summary(), adviceHint(*r))
		}
		for _, line := range serviceLines(*n) {
			fmt.Fprintln(out, line)
		}
		if n.Introducer {
			fmt.Fprintf(out, "Announced here: %d nodes\n", len(n.Announced))
			for _, a := range n.Announced {
				fmt.Fprintf(out, "  %.16s…  %-16s %-14s seqnum %d %s\n", a.ID, a.Nickname, a.Service, a.Seqnum, a.Reachability)
			}
		}
		for _, i := range n.Introducers {
			state := "not connected"
			if i.Connected {
				state = "connected"
			}
			if !i.LastHeard.IsZero() {
				state += fmt.Sprintf(", last heard %s ago", time.Since(i.LastHeard).Round(time.Second))
			}
			if i.LastError != "" {
				state += ", last error: " + i.LastError
			}
			fmt.Fprintf(out, "Introducer %s: %s\n", i.Petname, state)
		}
		connected := 0
		for _, p := range n.Peers {
			if p.Connected {
				connected++
			}
		}
		if !n.Introducer || len(n.Peers) > 0 {
			fmt.Fprintf(out, "Nodes: %d known, %d connected\n", len(n.Peers), connected)
		}
		for _, p := range n.Peers {
			state := "not connected"
			switch {
			case !p.Connected && p.LastSeen.IsZero():
				state += ", never seen"
				if p.Reachability == status.OutboundOnly {
					state += " (it is behind NAT: waiting for it to call)"
				}
			case !p.Connected:
				state += fmt.Sprintf(", last seen %s ago", time.Since(p.LastSeen).Round(time.Second))
			}
			if p.Connected {
				dir := "we dialed"
				if p.Inbound {
					dir = "it dialed us"
				}
				state = fmt.Sprintf("connected (%s, %s)", dir, p.Remote)
				if p.RTT > 0 {
					state += fmt.Sprintf(", rtt %s", p.RTT.Round(10*time.Microsecond))
				}
				if free := available[p.ID]; free > 0 {
					state += fmt.Sprintf(", %s free", sizeText(free))
				}
			}
			fmt.Fprintf(out, "  %.16s…  %-16s %-14s %s\n", p.ID, p.Nickname, p.Service, state)
		}
	}
	if s.Params != nil {
		fmt.Fprintf(out, "Storage servers usable: %d (encoding %d-of-%d, happy %d)\n", usable, s.Params.K, s.Params.N, s.Params.Happy)
	}
	if local, of := onThisComputer(s); local > 0 && local == of {
		fmt.Fprintf(out, "  all %d on this computer: no protection against a disk failure (for that, join a grid of other computers: lafs create-node --introducer)\n", local)
	} else if local > 0 {
		fmt.Fprintf(out, "  %d of them on this computer\n", local)
	}
}

// serviceLines are one line each for the helper and relay the node runs
// and for the helper and relays it uses, when there is one.
func serviceLines(n status.Node) []string {
	var out []string
	if h := n.Helper; h != nil {
		out = append(out, fmt.Sprintf("Helper (serving): %d uploads active, %s spooled, %d done, %s in, %s out, %d refused by limits",
			h.ActiveUploads, sizeText(uint64(max(h.SpoolBytes, 0))), h.UploadsDone, sizeText(uint64(max(h.BytesIn, 0))), sizeText(uint64(max(h.BytesOut, 0))), h.RefusedByLimit))
	}
	if r := n.Relay; r != nil {
		out = append(out, fmt.Sprintf("Relay (serving): %d reservations, %d circuits open, %s relayed, %d refused",
			r.Reservations, r.Circuits, sizeText(uint64(max(r.Bytes, 0))), r.Refused))
	}
	name := func(id, nick string) string {
		if nick != "" {
			return fmt.Sprintf("%s (%.16s…)", nick, id)
		}
		return fmt.Sprintf("%.16s…", id)
	}
	if u := n.Uses; u.Helper != "" {
		out = append(out, "Using helper: "+name(u.Helper, u.HelperNickname))
	}
	nick := map[string]string{}
	for _, p := range n.Peers {
		nick[p.ID] = p.Nickname
	}
	if rs := n.Uses.Relayed; len(rs) > 0 {
		var via []string
		for _, r := range rs {
			via = append(via, name(r.Peer, r.PeerNickname)+" via "+name(r.Relay, nick[r.Relay]))
		}
		out = append(out, "Using relays: "+strings.Join(via, ", "))
	}
	if rs := n.Uses.Reservations; len(rs) > 0 {
		var names []string
		for _, id := range rs {
			names = append(names, name(id, nick[id]))
		}
		out = append(out, "Reachable through relays: "+strings.Join(names, ", "))
	}
	return out
}

// onThisComputer counts the usable storage servers connected over
// loopback (on this computer, so most likely on one disk), of those
// usable. A server whose connection is not known is counted as elsewhere.
func onThisComputer(s status.Document) (local, usable int) {
	remote := map[string]string{}
	own := ""
	if s.Node != nil {
		own = s.Node.ID
		for _, p := range s.Node.Peers {
			if p.Connected {
				remote[p.ID] = p.Remote
			}
		}
	}
	for _, srv := range s.Servers {
		if !srv.Connected {
			continue
		}
		usable++
		if srv.ID == own || isLoopback(remote[srv.ID]) {
			local++
		}
	}
	return local, usable
}

// isLoopback reports whether addr (host:port or host) is on this computer.
func isLoopback(addr string) bool {
	if addr == "" {
		return false
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sizeText(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
