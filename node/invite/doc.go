// Package invite moves what a new device needs to join a grid — and, when
// asked, one folder's cap — from one device to another over a
// magic-wormhole channel, so that nobody types introducer addresses or caps.
//
// The inviting side ([Create]) allocates a short one-time code
// ("7-guitarist-revenge") on a magic-wormhole mailbox server; the user
// reads it to the other side, which calls [Accept] with it. Both sides run
// SPAKE2 over the code, so the mailbox server learns nothing and an
// attacker gets one guess, which also spends the invite. Then they follow
// Tahoe-LAFS's `tahoe invite` exchange (app ID "tahoe-lafs.org/invite"):
// each sends its abilities, and the inviter sends the configuration JSON,
// with Tahoe's keys plus ours (docs/invites.md).
//
// The mailbox protocol (JSON over a websocket) and the wormhole layer
// (PAKE, per-phase keys, secretbox) are implemented here, small and
// bounded (message size, queue, time); SPAKE2 itself is Debian's gospake2
// (third_party/gospake2), the word list is wormhole-william's. There is no
// transit (file transfer): an invite is a few hundred bytes.
//
// Secrets: the code and every cap travel only inside the encrypted channel
// and are never logged; errors never quote them.
package invite
