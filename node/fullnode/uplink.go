package fullnode

import (
	"context"
	"math"
	"time"
)

// uplinkSample is how often the uplink meter reads the transport's count
// of bytes sent (nat.Uplink wants about one sample a second).
const uplinkSample = time.Second

// runUplinkMeter feeds the node's bytes sent to its peers across the
// network (transport.Node.BytesSent: loopback left out) to n.uplink until
// ctx ends. The reachability report's numbers ("1 GB takes ~X min direct
// vs ~Y min via the helper") then use the measured uplink, not an
// estimate. When the estimate moves by a fifth or more, the advice is
// decided again at once rather than at the next check.
func (n *Node) runUplinkMeter(ctx context.Context) {
	t := time.NewTicker(uplinkSample)
	defer t.Stop()
	var shown float64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.uplink.Observe(now, n.T.BytesSent())
			bps, ok := n.uplink.Estimate(now)
			if !ok {
				shown = 0 // none (after a Reset): the next one shows whatever it is
			} else if math.Abs(bps-shown) > shown/5 {
				shown = bps
				n.refreshAdvice()
			}
		}
	}
}
