package invite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"

	"github.com/lafssync/lafssync/internal/version"
)

// The mailbox (rendezvous) protocol: JSON objects over one websocket. The
// client binds to an app ID with a random "side", then allocates or claims
// a nameplate (the number in the code), opens its mailbox, adds messages
// (phase + hex body) and finally closes it with a mood. The server echoes
// every message added to the mailbox, ours included, and acks every
// command.

// Limits on what a mailbox server can make us hold.
const (
	maxFrame   = 64 << 10 // one websocket message
	maxStashed = 16       // mailbox messages waiting for their phase
	inQueue    = 8        // decoded server messages not yet handled
)

// serverMsg is any message from the mailbox server; Type says which fields
// mean something.
type serverMsg struct {
	Type    string `json:"type"`
	Welcome *struct {
		Error string `json:"error"`
	} `json:"welcome"`
	Nameplate  string `json:"nameplate"`
	Nameplates []struct {
		ID string `json:"id"`
	} `json:"nameplates"`
	Mailbox string `json:"mailbox"`
	Side    string `json:"side"`
	Phase   string `json:"phase"`
	Body    string `json:"body"`
	Error   string `json:"error"`
}

// mailbox is one connection to a mailbox server. Its methods are called
// from one goroutine; a reader goroutine feeds in until the connection
// ends.
type mailbox struct {
	conn *websocket.Conn
	side string
	in   chan serverMsg
	// readErr is why the reader stopped; set before in is closed.
	readErr error
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mailboxID string
	stash     []serverMsg // mailbox messages from the other side, not yet asked for
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b)
}

// dialMailbox connects, reads the welcome and binds to appID.
func dialMailbox(ctx context.Context, url, appID string) (*mailbox, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to the mailbox server %s: %w", url, err)
	}
	conn.SetReadLimit(maxFrame)
	rctx, stop := context.WithCancel(context.Background())
	m := &mailbox{conn: conn, side: randHex(5), in: make(chan serverMsg, inQueue), stop: stop}
	m.wg.Add(1)
	go m.read(rctx)
	w, err := m.await(ctx, "welcome")
	if err != nil {
		m.shut()
		return nil, fmt.Errorf("mailbox server %s: %w", url, err)
	}
	if w.Welcome != nil && w.Welcome.Error != "" {
		m.shut()
		return nil, fmt.Errorf("mailbox server %s refuses clients: %s", url, clip(w.Welcome.Error))
	}
	if err := m.send(ctx, map[string]any{"type": "bind", "appid": appID, "side": m.side,
		"client_version": []string{"lafssync", version.Version}}); err != nil {
		m.shut()
		return nil, err
	}
	return m, nil
}

// clip shortens text from the server before it goes into an error.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (m *mailbox) read(ctx context.Context) {
	defer m.wg.Done()
	defer close(m.in)
	for {
		_, b, err := m.conn.Read(ctx)
		if err != nil {
			m.readErr = err
			return
		}
		var msg serverMsg
		if err := json.Unmarshal(b, &msg); err != nil {
			m.readErr = fmt.Errorf("the mailbox server sent something that is not JSON: %w", err)
			return
		}
		switch {
		case msg.Type == "ack" || msg.Type == "pong":
			continue
		case msg.Type == "message" && msg.Side == m.side:
			continue // the echo of our own message
		}
		select {
		case m.in <- msg:
		case <-ctx.Done():
			m.readErr = ctx.Err()
			return
		}
	}
}

// send writes one command to the server.
func (m *mailbox) send(ctx context.Context, cmd map[string]any) error {
	cmd["id"] = randHex(2)
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	if err := m.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("mailbox server: send %s: %w", cmd["type"], err)
	}
	return nil
}

// errMailboxGone is the error when the server closes the connection.
var errMailboxGone = errors.New("the mailbox server closed the connection")

// next returns the next server message that is not a mailbox message
// (those are stashed for message).
func (m *mailbox) next(ctx context.Context) (serverMsg, error) {
	select {
	case msg, ok := <-m.in:
		if !ok {
			if m.readErr != nil && !errors.Is(m.readErr, context.Canceled) {
				return msg, fmt.Errorf("%w: %v", errMailboxGone, m.readErr)
			}
			return msg, errMailboxGone
		}
		if msg.Type == "error" {
			return msg, fmt.Errorf("the mailbox server reports an error: %s", clip(msg.Error))
		}
		return msg, nil
	case <-ctx.Done():
		return serverMsg{}, ctx.Err()
	}
}

// await reads until a message of type typ, stashing mailbox messages.
func (m *mailbox) await(ctx context.Context, typ string) (serverMsg, error) {
	for {
		msg, err := m.next(ctx)
		if err != nil {
			return msg, err
		}
		if msg.Type == typ {
			return msg, nil
		}
		if msg.Type == "message" {
			if err := m.keep(msg); err != nil {
				return msg, err
			}
		}
	}
}

func (m *mailbox) keep(msg serverMsg) error {
	if len(m.stash) >= maxStashed {
		return errors.New("the mailbox holds more messages than an invite has: giving up")
	}
	m.stash = append(m.stash, msg)
	return nil
}

// message returns the other side's message of phase, waiting for it.
func (m *mailbox) message(ctx context.Context, phase string) (serverMsg, error) {
	for i, msg := range m.stash {
		if msg.Phase == phase {
			m.stash = append(m.stash[:i], m.stash[i+1:]...)
			return msg, nil
		}
	}
	for {
		msg, err := m.await(ctx, "message")
		if err != nil {
			return msg, err
		}
		if msg.Phase == phase {
			return msg, nil
		}
		if err := m.keep(msg); err != nil {
			return msg, err
		}
	}
}

// allocate gets a fresh nameplate, claims it and opens its mailbox.
func (m *mailbox) allocate(ctx context.Context) (string, error) {
	if err := m.send(ctx, map[string]any{"type": "allocate"}); err != nil {
		return "", err
	}
	a, err := m.await(ctx, "allocated")
	if err != nil {
		return "", err
	}
	if !isNameplate(a.Nameplate) {
		return "", errors.New("the mailbox server allocated a nameplate that is not a number")
	}
	return a.Nameplate, m.claim(ctx, a.Nameplate)
}

// listed says whether nameplate is in use on the server; known is false
// when the server does not list nameplates.
func (m *mailbox) listed(ctx context.Context, nameplate string) (found, known bool, err error) {
	if err := m.send(ctx, map[string]any{"type": "list"}); err != nil {
		return false, false, err
	}
	l, err := m.await(ctx, "nameplates")
	if err != nil {
		// A server started with --disallow-list answers with an error;
		// that is not a reason to fail.
		if errors.Is(err, errMailboxGone) || ctx.Err() != nil {
			return false, false, err
		}
		return false, false, nil
	}
	for _, n := range l.Nameplates {
		if n.ID == nameplate {
			return true, true, nil
		}
	}
	return false, true, nil
}

// claim claims nameplate and opens its mailbox.
func (m *mailbox) claim(ctx context.Context, nameplate string) error {
	if err := m.send(ctx, map[string]any{"type": "claim", "nameplate": nameplate}); err != nil {
		return err
	}
	c, err := m.await(ctx, "claimed")
	if err != nil {
		return err
	}
	if c.Mailbox == "" || len(c.Mailbox) > 128 {
		return errors.New("the mailbox server claimed no usable mailbox")
	}
	m.mailboxID = c.Mailbox
	return m.send(ctx, map[string]any{"type": "open", "mailbox": c.Mailbox})
}

// release gives the nameplate back once both sides are in the mailbox,
// so the number can serve the next invite.
func (m *mailbox) release(ctx context.Context, nameplate string) error {
	return m.send(ctx, map[string]any{"type": "release", "nameplate": nameplate})
}

// add puts one message into the mailbox.
func (m *mailbox) add(ctx context.Context, phase string, body []byte) error {
	return m.send(ctx, map[string]any{"type": "add", "phase": phase, "body": hex.EncodeToString(body)})
}

// close closes the mailbox with a mood (happy, lonely, scary, errory),
// waits briefly for the server to confirm, and ends the connection.
func (m *mailbox) close(ctx context.Context, mood string) {
	if m.mailboxID != "" {
		if m.send(ctx, map[string]any{"type": "close", "mailbox": m.mailboxID, "mood": mood}) == nil {
			_, _ = m.await(ctx, "closed")
		}
	}
	m.shut()
}

// shut ends the connection and the reader.
func (m *mailbox) shut() {
	m.stop()
	m.conn.Close(websocket.StatusNormalClosure, "")
	m.wg.Wait()
}

func isNameplate(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
