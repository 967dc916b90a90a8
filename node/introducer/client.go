package introducer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lafssync/lafssync/internal/atomicfile"
	"github.com/lafssync/lafssync/node/transport"
)

// URL is an introducer's address, "lafs://NODEID@HOST:PORT[,HOST:PORT…]":
// the introducer node's ID (its key, which the transport pins) and where
// it listens. It is not secret.
type URL struct {
	ID    string
	Addrs []string
}

// ParseURL reads an introducer URL.
func ParseURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "lafs://")
	if !ok {
		return URL{}, fmt.Errorf("introducer address %q does not start with lafs:// (a Tahoe pb:// introducer fURL needs Foolscap, which LAFS Sync does not speak)", s)
	}
	id, hosts, ok := strings.Cut(strings.TrimSuffix(rest, "/"), "@")
	if !ok {
		return URL{}, fmt.Errorf("introducer address %q has no NODEID@", s)
	}
	if !strings.HasPrefix(id, "v0-") || len(id) != 3+52 {
		return URL{}, fmt.Errorf("introducer address %q: node ID is not v0-<52 base32 characters>", s)
	}
	u := URL{ID: id}
	for _, h := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil || h == "" {
			return URL{}, fmt.Errorf("introducer address %q: %q is not HOST:PORT", s, h)
		}
		u.Addrs = append(u.Addrs, h)
	}
	return u, nil
}

func (u URL) String() string { return "lafs://" + u.ID + "@" + strings.Join(u.Addrs, ",") }

// Known is a verified announcement.
type Known struct {
	Ann    Announcement
	Node   string // the signer's ID
	Signed Signed
}

// Client follows introducers: it publishes the node's own announcement to
// each, receives everyone's, verifies every signature itself (it does not
// trust the introducer), keeps the newest per node, and caches what each
// introducer sent on disk so that the node starts with them when the
// introducer is down.
type Client struct {
	T           *transport.Node
	Introducers map[string]URL // by petname
	// CacheDir holds introducer_<petname>_cache.yaml (the node's private/).
	CacheDir string
	// Own is the node's signed announcement, or false for none.
	Own func() (Signed, bool)
	// OnChange is called after new announcements arrive.
	OnChange func()
	Log      *slog.Logger
	Backoff  transport.Backoff
	// LongPoll is how long one subscription request waits for a change
	// (0: MaxWait less 10 s).
	LongPoll time.Duration

	mu     sync.Mutex // guards nodes, status
	nodes  map[string]Known
	status map[string]*IntroducerStatus
}

// IntroducerStatus is what the node shows about one introducer.
type IntroducerStatus struct {
	Petname   string    `json:"petname"`
	ID        string    `json:"id"`
	Connected bool      `json:"connected"`
	LastHeard time.Time `json:"last_heard,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// CacheFile is where announcements from introducer petname are kept.
func CacheFile(dir, petname string) string {
	return filepath.Join(dir, "introducer_"+petname+"_cache.yaml")
}

// Run follows every introducer until ctx ends.
func (c *Client) Run(ctx context.Context) {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Backoff == (transport.Backoff{}) {
		c.Backoff = transport.DefaultBackoff
	}
	c.mu.Lock()
	if c.nodes == nil {
		c.nodes = map[string]Known{}
	}
	c.status = map[string]*IntroducerStatus{}
	for pet, u := range c.Introducers {
		c.status[pet] = &IntroducerStatus{Petname: pet, ID: u.ID}
	}
	c.mu.Unlock()
	for pet := range c.Introducers {
		if k, err := c.LoadCache(pet); err != nil {
			c.Log.Warn("introducer cache unreadable; ignoring it", "introducer", pet, "err", err)
		} else if k > 0 {
			c.Log.Info("using cached announcements until the introducer answers", "introducer", pet, "announcements", k)
		}
	}
	var wg sync.WaitGroup
	for pet, u := range c.Introducers {
		wg.Go(func() { c.T.Keep(ctx, u.ID, func() []string { return u.Addrs }, c.Backoff) })
		wg.Go(func() { c.follow(ctx, pet, u) })
	}
	wg.Wait()
}

// Nodes returns the newest verified announcement of every node heard of.
func (c *Client) Nodes() map[string]Known {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Known, len(c.nodes))
	for k, v := range c.nodes {
		out[k] = v
	}
	return out
}

// Status describes each introducer.
func (c *Client) Status() []IntroducerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []IntroducerStatus
	for _, s := range c.status {
		st := *s
		st.Connected = c.T.Connections(s.ID) > 0
		out = append(out, st)
	}
	return out
}

func (c *Client) setStatus(pet string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status[pet]
	if err != nil {
		s.LastError = err.Error()
	} else {
		s.LastHeard, s.LastError = time.Now(), ""
	}
}

// follow publishes to and polls one introducer, reconnecting as needed.
func (c *Client) follow(ctx context.Context, pet string, u URL) {
	hc := c.T.HTTPClient(u.ID)
	hc.Timeout = MaxWait + 30*time.Second
	var gen int64 = -1
	epoch := ""
	attempt := 0
	published := false
	for ctx.Err() == nil {
		if c.T.Connections(u.ID) == 0 {
			published, gen = false, -1
			select {
			case <-ctx.Done():
				return
			case <-c.T.Changed():
			}
			continue
		}
		err := func() error {
			if !published && c.Own != nil {
				if s, ok := c.Own(); ok {
					if err := c.publish(ctx, hc, s); err != nil {
						return err
					}
				}
				published = true
			}
			wait := MaxWait - 10*time.Second
			if c.LongPoll > 0 {
				wait = c.LongPoll
			}
			if gen < 0 {
				wait = 0
			}
			list, err := c.poll(ctx, hc, gen, wait)
			if err != nil {
				return err
			}
			if list.Epoch == epoch && list.Generation == gen {
				// The long poll timed out: the same list as last
				// time, already verified and cached.
				return nil
			}
			if list.Epoch != epoch && gen >= 0 {
				// The introducer restarted: its generations count
				// afresh, so ask for everything now.
				epoch, gen = list.Epoch, -1
				c.receive(pet, list.Announcements)
				return nil
			}
			epoch, gen = list.Epoch, list.Generation
			c.receive(pet, list.Announcements)
			return nil
		}()
		c.setStatus(pet, err)
		if err == nil {
			attempt = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		c.Log.Warn("introducer", "introducer", pet, "err", err)
		published, gen = false, -1
		t := time.NewTimer(c.Backoff.Wait(attempt))
		attempt++
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Republish sends Own again to every introducer connected now, after the
// node's announcement changed (the others get it when they reconnect).
func (c *Client) Republish(ctx context.Context) error {
	if c.Own == nil {
		return nil
	}
	s, ok := c.Own()
	if !ok {
		return nil
	}
	var errs []error
	for pet, u := range c.Introducers {
		if c.T.Connections(u.ID) == 0 {
			continue
		}
		if err := c.publish(ctx, c.T.HTTPClient(u.ID), s); err != nil {
			errs = append(errs, fmt.Errorf("introducer %s: %w", pet, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) publish(ctx context.Context, hc *http.Client, s Signed) error {
	body, _ := json.Marshal(s)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://introducer"+PublishPath, bytes.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("publish refused: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

func (c *Client) poll(ctx context.Context, hc *http.Client, since int64, wait time.Duration) (List, error) {
	var list List
	u := fmt.Sprintf("http://introducer%s?since=%d&wait=%s", AnnouncementsPath, since, wait)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return list, fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return list, fmt.Errorf("subscribe: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&list); err != nil {
		return list, fmt.Errorf("subscribe: malformed answer: %w", err)
	}
	return list, nil
}

// receive verifies and merges announcements from introducer pet.
func (c *Client) receive(pet string, anns []Signed) {
	var good []Known
	for _, s := range anns {
		a, key, err := Verify(s)
		if err != nil {
			c.Log.Warn("ignored an announcement", "introducer", pet, "key", s.Key, "err", err)
			continue
		}
		good = append(good, Known{Ann: a, Node: key, Signed: s})
	}
	if c.merge(good) && c.OnChange != nil {
		c.OnChange()
	}
	if c.CacheDir != "" {
		if err := writeCache(CacheFile(c.CacheDir, pet), good); err != nil {
			c.Log.Warn("could not cache announcements", "introducer", pet, "err", err)
		}
	}
}

// merge keeps the newest announcement per node; it reports a change.
func (c *Client) merge(ks []Known) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil {
		c.nodes = map[string]Known{}
	}
	changed := false
	for _, k := range ks {
		if old, ok := c.nodes[k.Node]; ok && old.Ann.Seqnum >= k.Ann.Seqnum {
			continue
		}
		c.nodes[k.Node] = k
		changed = true
	}
	return changed
}

// cacheEntry is Tahoe's cache layout ({ann, key_s}) plus the signed form,
// which is checked again when the cache is read.
type cacheEntry struct {
	Ann    Announcement `yaml:"ann"`
	Key    string       `yaml:"key_s"`
	Signed Signed       `yaml:"signed"`
}

func writeCache(path string, ks []Known) error {
	entries := make([]cacheEntry, 0, len(ks))
	for _, k := range ks {
		entries = append(entries, cacheEntry{Ann: k.Ann, Key: k.Node, Signed: k.Signed})
	}
	b, err := yaml.Marshal(entries)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// ReadCache returns the verified announcements cached for one introducer
// (none if there is no cache yet).
func ReadCache(path string) ([]Known, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []cacheEntry
	if err := yaml.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Known
	for _, e := range entries {
		a, key, err := Verify(e.Signed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, Known{Ann: a, Node: key, Signed: e.Signed})
	}
	return out, nil
}

// LoadCache merges introducer pet's cached announcements; it returns how
// many there were.
func (c *Client) LoadCache(pet string) (int, error) {
	if c.CacheDir == "" {
		return 0, nil
	}
	ks, err := ReadCache(CacheFile(c.CacheDir, pet))
	if err != nil {
		return 0, err
	}
	if c.merge(ks) && c.OnChange != nil {
		c.OnChange()
	}
	return len(ks), nil
}
