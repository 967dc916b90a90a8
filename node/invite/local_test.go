package invite

import "testing"

func TestLoopbackOnly(t *testing.T) {
	const id = "v0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cases := []struct {
		name string
		inv  Invite
		want bool
	}{
		{"the local grid", Invite{Introducer: "lafs://" + id + "@127.0.0.1:40123", Introducers: map[string]string{"local": "lafs://" + id + "@127.0.0.1:40123"}}, true},
		{"loopback of another form", Invite{Introducers: map[string]string{"a": "lafs://" + id + "@127.0.0.2:1,[::1]:2,localhost:3"}}, true},
		{"a Tahoe fURL on loopback", Invite{Introducer: "pb://tubid@tcp:127.0.0.1:3456/swissnum"}, true},
		{"a LAN address", Invite{Introducer: "lafs://" + id + "@192.168.1.5:3456"}, false},
		{"loopback and a public address", Invite{Introducer: "lafs://" + id + "@127.0.0.1:3456,203.0.113.7:3456"}, false},
		{"a host name", Invite{Introducer: "lafs://" + id + "@grid.example.org:3456"}, false},
		{"a second introducer elsewhere", Invite{Introducer: "lafs://" + id + "@127.0.0.1:1", Introducers: map[string]string{"local": "lafs://" + id + "@127.0.0.1:1", "club": "lafs://" + id + "@198.51.100.4:3456"}}, false},
		{"a Tor hint", Invite{Introducer: "pb://tubid@tor:abcdef.onion:3456/swissnum"}, false},
		{"no introducer", Invite{}, false},
	}
	for _, c := range cases {
		if got := c.inv.LoopbackOnly(); got != c.want {
			t.Errorf("%s: LoopbackOnly() = %v, want %v", c.name, got, c.want)
		}
	}
}
