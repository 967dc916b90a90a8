package invite_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/node/invite"
)

// Tahoe's tests of create-client --join send the counts as numbers; its
// tahoe invite sends them as strings. Both must read.
func TestTahoeConfigReads(t *testing.T) {
	for _, doc := range []string{
		`{"shares-needed": 1, "shares-happy": 1, "shares-total": 1, "nickname": "n", "introducer": "` + intro + `", "future-key": [1]}`,
		`{"shares-needed": "1", "shares-happy": "1", "shares-total": "1", "nickname": "n", "introducer": "` + intro + `"}`,
	} {
		var inv invite.Invite
		if err := json.Unmarshal([]byte(doc), &inv); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if inv.SharesNeeded != 1 || inv.SharesHappy != 1 || inv.SharesTotal != 1 || inv.Nickname != "n" || inv.Introducer != intro {
			t.Errorf("%s: read %+v", doc, inv)
		}
		if err := inv.Validate(); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestWrittenAsTahoeWritesIt(t *testing.T) {
	b, err := json.Marshal(invite.Invite{Nickname: "bob", Introducer: intro, SharesNeeded: 3, SharesHappy: 7, SharesTotal: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"introducer":"` + intro + `","nickname":"bob","shares-happy":"7","shares-needed":"3","shares-total":"10"}`
	if string(b) != want {
		t.Errorf("wrote %s\nwant  %s", b, want)
	}
}

func TestValidateRefuses(t *testing.T) {
	write, read := newDirCap(t)
	cases := []struct {
		name string
		inv  invite.Invite
		want string
	}{
		{"no introducer", invite.Invite{}, "names no introducer"},
		{"tahoe grid", invite.Invite{Introducer: "pb://abc@tcp:example.org:1234/swiss"}, "Foolscap"},
		{"not an address", invite.Invite{Introducer: "http://x"}, "not a lafs:// introducer"},
		{"bad petname", invite.Invite{Introducers: map[string]string{"../x": intro}}, "petname"},
		{"k > n", invite.Invite{Introducer: intro, SharesNeeded: 5, SharesHappy: 3, SharesTotal: 4}, "impossible"},
		{"half the counts", invite.Invite{Introducer: intro, SharesNeeded: 3}, "impossible"},
		{"n > 256", invite.Invite{Introducer: intro, SharesNeeded: 3, SharesHappy: 3, SharesTotal: 300}, "impossible"},
		{"folder name", invite.Invite{Introducer: intro, Folder: &invite.Folder{Name: "a/b", Cap: read}}, "plain name"},
		{"bad cap", invite.Invite{Introducer: intro, Folder: &invite.Folder{Name: "f", Cap: "URI:DIR2:nope"}}, "not a valid cap"},
		{"write cap as read", invite.Invite{Introducer: intro, Folder: &invite.Folder{Name: "f", Cap: write}}, "carries its write cap"},
		{"read cap as write", invite.Invite{Introducer: intro, Folder: &invite.Folder{Name: "f", Cap: read, Write: true}}, "read-only"},
		{"file cap", invite.Invite{Introducer: intro, Folder: &invite.Folder{Name: "f", Cap: "URI:LIT:nbswy3dp"}}, "not a directory"},
	}
	for _, c := range cases {
		err := c.inv.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), write) || strings.Contains(err.Error(), read) {
			t.Errorf("%s: the error quotes a cap", c.name)
		}
	}
	if err := (&invite.Invite{Introducer: "pb://x@y/z"}).Validate(); !errors.Is(err, invite.ErrTahoeGrid) {
		t.Errorf("pb:// introducer: %v, want ErrTahoeGrid", err)
	}
}

func FuzzInviteJSON(f *testing.F) {
	f.Add([]byte(`{"shares-needed": "3", "shares-happy": 7, "introducer": "lafs://a@b:1", "lafssync-folder": {"name": "x", "cap": "URI:DIR2-RO:a:b"}}`))
	f.Add([]byte(`{"lafssync-introducers": {"default": "lafs://a@b:1"}, "shares-total": null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var inv invite.Invite
		if json.Unmarshal(b, &inv) != nil {
			return
		}
		if inv.Validate() != nil {
			return
		}
		// What validates survives our own encoding unchanged.
		out, err := json.Marshal(inv)
		if err != nil {
			t.Fatal(err)
		}
		var again invite.Invite
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("re-read invite no longer validates: %v", err)
		}
	})
}
