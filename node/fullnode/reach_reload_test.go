package fullnode

import (
	"slices"
	"testing"
)

func TestChangedKeys(t *testing.T) {
	old := map[string]string{"client.helper": "off", "node.tub.port": "tcp:3456", "storage.enabled": "true"}
	now := map[string]string{"client.helper": "auto", "node.tub.port": "tcp:3456", "node.upnp": "false"}
	if got, want := changedKeys(old, now), []string{"client.helper", "node.upnp", "storage.enabled"}; !slices.Equal(got, want) {
		t.Errorf("changed %q, want %q", got, want)
	}
	if got := changedKeys(old, old); len(got) != 0 {
		t.Errorf("no change reads as %q", got)
	}
}
