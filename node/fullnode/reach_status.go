package fullnode

import (
	"github.com/lafssync/lafssync/node/status"
)

// serviceStatus fills in what the status document says of the helper and
// relay this node runs, and of the helper and relays it uses.
func (n *Node) serviceStatus(s *status.Node) {
	if h := n.HelperServer(); h != nil {
		st := h.Stats()
		s.Helper = &st
	}
	if r := n.RelayServer(); r != nil {
		st := r.Stats()
		s.Relay = &st
	}
	nick := map[string]string{}
	for _, p := range s.Peers {
		nick[p.ID] = p.Nickname
	}
	u := status.Uses{Relayed: []status.Relayed{}, Reservations: n.reservedRelays()}
	if u.Reservations == nil {
		u.Reservations = []string{}
	}
	if n.T != nil {
		u.Helper = n.HelperInUse()
		u.HelperNickname = nick[u.Helper]
		for _, c := range s.Connections {
			if c.Via != "" {
				u.Relayed = append(u.Relayed, status.Relayed{Peer: c.ID, PeerNickname: nick[c.ID], Relay: c.Via})
			}
		}
	}
	s.Uses = u
}
