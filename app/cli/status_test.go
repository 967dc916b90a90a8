package cli

import (
	"strings"
	"testing"

	"github.com/lafssync/lafssync/node/helper"
	"github.com/lafssync/lafssync/node/relay"
	"github.com/lafssync/lafssync/node/status"
)

// lafs status gives one line for each helper or relay a node runs or
// uses, and none for those it does not.
func TestServiceLines(t *testing.T) {
	const h, r, p = "v0-hhhhhhhhhhhhhhhhhhhhhhhh", "v0-rrrrrrrrrrrrrrrrrrrrrrrr", "v0-pppppppppppppppppppppppp"
	cases := []struct {
		name string
		n    status.Node
		want []string
	}{
		{"nothing", status.Node{}, nil},
		{"helper and relay served", status.Node{
			Helper: &helper.Stats{ActiveUploads: 2, SpoolBytes: 3_500_000, UploadsDone: 7, BytesIn: 12_000_000, BytesOut: 40_000_000, RefusedByLimit: 1},
			Relay:  &relay.Stats{Reservations: 3, Circuits: 2, Relayed: 9, Refused: 4, Bytes: 2_100_000}},
			[]string{
				"Helper (serving): 2 uploads active, 3.5 MB spooled, 7 done, 12.0 MB in, 40.0 MB out, 1 refused by limits",
				"Relay (serving): 3 reservations, 2 circuits open, 2.1 MB relayed, 4 refused",
			}},
		{"client using a helper and a relay", status.Node{
			Peers: []status.Peer{{ID: r, Nickname: "pub"}, {ID: p, Nickname: "home"}},
			Uses: status.Uses{Helper: h, HelperNickname: "helper", Relayed: []status.Relayed{{Peer: p, PeerNickname: "home", Relay: r}},
				Reservations: []string{r}}},
			[]string{
				"Using helper: helper (v0-hhhhhhhhhhhhh…)",
				"Using relays: home (v0-ppppppppppppp…) via pub (v0-rrrrrrrrrrrrr…)",
				"Reachable through relays: pub (v0-rrrrrrrrrrrrr…)",
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := serviceLines(c.n)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
