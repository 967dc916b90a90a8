package invite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/hkdf"
	"golang.org/x/crypto/nacl/secretbox"
	"salsa.debian.org/vasudev/gospake2"
)

// The wormhole layer over a mailbox (magic-wormhole's client protocol):
// each side adds a "pake" message (SPAKE2, symmetric, the code as password
// and the app ID as identity), derives the shared key, then adds an
// encrypted "version" message and its application messages in phases "0",
// "1", …. Each message is sealed with secretbox under a key derived (HKDF-
// SHA256) from the shared key, the sender's side and the phase, and
// carried as hex(nonce ‖ box).

// ErrWrongCode is the error when the other side used a different code:
// the PAKE gave the two sides different keys. The invite is spent.
var ErrWrongCode = errors.New("the invite code is wrong (or someone else used it first): the invite is cancelled; ask for a new code")

type session struct {
	mb     *mailbox
	appID  string
	key    []byte
	other  string // the other side's side ID
	phase  int    // our next application phase
	spake  gospake2.SPAKE2
	closed bool
}

type pakeMsg struct {
	PakeV1 string `json:"pake_v1"`
}

// startPAKE adds our PAKE message for code.
func (s *session) startPAKE(ctx context.Context, code string) error {
	s.spake = gospake2.SPAKE2Symmetric(gospake2.NewPassword(code), gospake2.NewIdentityS(s.appID))
	body, err := json.Marshal(pakeMsg{PakeV1: hex.EncodeToString(s.spake.Start())})
	if err != nil {
		return err
	}
	return s.mb.add(ctx, "pake", body)
}

// finishPAKE waits for the other side's PAKE message and derives the key.
func (s *session) finishPAKE(ctx context.Context) error {
	msg, err := s.mb.message(ctx, "pake")
	if err != nil {
		return err
	}
	raw, err := hex.DecodeString(msg.Body)
	if err != nil {
		return errors.New("the other side's key exchange message is not hex")
	}
	var p pakeMsg
	if err := json.Unmarshal(raw, &p); err != nil {
		return errors.New("the other side's key exchange message is not JSON")
	}
	other, err := hex.DecodeString(p.PakeV1)
	if err != nil || len(other) != 33 {
		return errors.New("the other side's key exchange message is malformed")
	}
	key, err := s.finish(other)
	if err != nil {
		return err
	}
	s.key, s.other = key, msg.Side
	return nil
}

// finish runs SPAKE2's last step; gospake2 panics on some points that are
// not on the curve, and those come from the network.
func (s *session) finish(other []byte) (key []byte, err error) {
	defer func() {
		if recover() != nil {
			key, err = nil, errors.New("the other side's key exchange message is not a valid point")
		}
	}()
	key, err = s.spake.Finish(other)
	if err != nil {
		return nil, errors.New("the other side's key exchange message is not a valid point")
	}
	return key, nil
}

func derive(key []byte, purpose string) *[32]byte {
	var out [32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, key, nil, []byte(purpose)), out[:]); err != nil {
		panic(err) // 32 bytes of HKDF-SHA256 cannot run out
	}
	return &out
}

func phaseKey(key []byte, side, phase string) *[32]byte {
	sh, ph := sha256.Sum256([]byte(side)), sha256.Sum256([]byte(phase))
	return derive(key, "wormhole:phase:"+string(sh[:])+string(ph[:]))
}

// put seals v (as JSON) for phase and adds it.
func (s *session) put(ctx context.Context, phase string, v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	box := secretbox.Seal(nonce[:], plain, &nonce, phaseKey(s.key, s.mb.side, phase))
	return s.mb.add(ctx, phase, box)
}

// get waits for the other side's message of phase and opens it into v.
func (s *session) get(ctx context.Context, phase string, v any) error {
	msg, err := s.mb.message(ctx, phase)
	if err != nil {
		return err
	}
	if msg.Side != s.other {
		return errors.New("a third party wrote into the invite's mailbox: the invite is cancelled")
	}
	raw, err := hex.DecodeString(msg.Body)
	if err != nil || len(raw) < 24+secretbox.Overhead || len(raw) > maxMessage {
		return fmt.Errorf("the other side's %q message is malformed", phase)
	}
	var nonce [24]byte
	copy(nonce[:], raw)
	plain, ok := secretbox.Open(nil, raw[24:], &nonce, phaseKey(s.key, s.other, phase))
	if !ok {
		return ErrWrongCode
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("the other side's %q message is not the JSON an invite needs: %w", phase, err)
	}
	return nil
}

type versionMsg struct {
	AppVersions map[string]any `json:"app_versions"`
}

// exchangeVersions sends ours and checks theirs: the first encrypted
// message, so a wrong code shows here.
func (s *session) exchangeVersions(ctx context.Context) error {
	if err := s.put(ctx, "version", versionMsg{AppVersions: map[string]any{}}); err != nil {
		return err
	}
	var v versionMsg
	return s.get(ctx, "version", &v)
}

// send adds our next application message.
func (s *session) send(ctx context.Context, v any) error {
	p := strconv.Itoa(s.phase)
	s.phase++
	return s.put(ctx, p, v)
}

// close ends the session with mood, within a short bound of its own so that
// a dead server cannot hold the caller.
func (s *session) close(mood string) {
	if s.closed {
		return
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	s.mb.close(ctx, mood)
}
