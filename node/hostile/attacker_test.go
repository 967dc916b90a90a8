package hostile

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/gbs"
)

// target is one storage server of the attacked daemon, as a grid member
// knows it: its NURL, swissnum included. Nothing here prints the NURL or
// any secret; messages name the server by its directory.
type target struct {
	name string // "storage-3"
	dir  string
	nurl gbs.NURL
	gbs  *gbs.Client // well-formed requests
	http *http.Client
}

// loadTargets reads each storage server's NURL as any grid member gets it
// (the servers.yaml entry `lafs tahoe-servers-yaml` prints).
func loadTargets(t *testing.T, nodeDir string) []*target {
	t.Helper()
	var out []*target
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("storage-%d", i)
		dir := filepath.Join(nodeDir, "local-grid", name)
		yaml, err := exec.Command(lafsBin, "tahoe-servers-yaml", dir).Output()
		if err != nil {
			t.Fatalf("lafs tahoe-servers-yaml %s: %v", dir, err)
		}
		var nurlText string
		for _, line := range strings.Split(string(yaml), "\n") {
			if s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- ")); strings.HasPrefix(s, "pb://") && strings.HasSuffix(s, "#v=1") {
				nurlText = s
			}
		}
		n, err := gbs.ParseNURL(nurlText)
		if err != nil {
			t.Fatalf("%s: no HTTP storage NURL in its servers.yaml entry: %v", name, err)
		}
		c, err := gbs.Dial(nurlText, gbs.ClientOptions{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(c.Close)
		tg := &target{name: name, dir: dir, nurl: n, gbs: c}
		tg.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return tg.dialTLS(ctx) },
		}}
		t.Cleanup(tg.http.CloseIdleConnections)
		out = append(out, tg)
	}
	return out
}

func (tg *target) addr() string { return net.JoinHostPort(tg.nurl.Host, strconv.Itoa(tg.nurl.Port)) }

// dialTLS connects as a Tahoe client does: plain HTTPS, the server's
// certificate pinned by the hash of its key.
func (tg *target) dialTLS(ctx context.Context) (*tls.Conn, error) {
	raw, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", tg.addr())
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, &tls.Config{
		InsecureSkipVerify: true, // pinned below
		NextProtos:         []string{"http/1.1"},
		VerifyPeerCertificate: func(certs [][]byte, _ [][]*x509.Certificate) error {
			if len(certs) == 0 {
				return gbs.ErrWrongKey
			}
			cert, err := x509.ParseCertificate(certs[0])
			if err != nil {
				return err
			}
			if subtle.ConstantTimeCompare([]byte(gbs.SPKIHash(cert)), []byte(tg.nurl.SPKIHash)) != 1 {
				return gbs.ErrWrongKey
			}
			return nil
		},
	})
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// head is a request's start line and headers, the swissnum's
// Authorization among them, without the blank line that ends them.
func (tg *target) head(method, path string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Tahoe-LAFS %s\r\n", method, path, tg.addr(),
		base64.StdEncoding.EncodeToString([]byte(tg.nurl.Swissnum)))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String()
}

// request sends one well-formed HTTP request with arbitrary headers and
// returns the status.
func (tg *target) request(ctx context.Context, method, path string, header map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+tg.addr()+path, http.NoBody)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(tg.nurl.Swissnum)))
	for k, v := range header {
		req.Header.Add(k, v)
	}
	resp, err := tg.http.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func secretHeader(kind string, s storage.Secret) string {
	return kind + " " + base64.StdEncoding.EncodeToString(s[:])
}

func randomSI() storage.SI {
	var si storage.SI
	rand.Read(si[:])
	return si
}

func randomSecret() storage.Secret {
	var s storage.Secret
	rand.Read(s[:])
	return s
}

func randomLease() storage.LeaseSecrets {
	return storage.LeaseSecrets{Renew: randomSecret(), Cancel: randomSecret()}
}

// immutableShare uploads one complete immutable share of size bytes (share
// 0 of a new storage index) and returns its index.
func (tg *target) immutableShare(ctx context.Context, size int) (storage.SI, error) {
	si, up := randomSI(), randomSecret()
	a, err := tg.gbs.AllocateBuckets(ctx, si, randomLease(), up, []int{0}, uint64(size))
	if err != nil {
		return si, fmt.Errorf("allocate on %s: %w", tg.name, err)
	}
	if len(a.Allocated) != 1 {
		return si, fmt.Errorf("allocate on %s: share 0 not allocated", tg.name)
	}
	done, err := tg.gbs.WriteShare(ctx, si, 0, up, 0, make([]byte, size))
	if err != nil || !done {
		return si, fmt.Errorf("write share on %s: complete %v, %v", tg.name, done, err)
	}
	return si, nil
}

// statusOf is the HTTP status inside a gbs client error (0 if none).
func statusOf(err error) int {
	var se *gbs.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// slowResult is how a slow request ended.
type slowResult struct {
	status   int           // the server's answer; 0 if it closed without one
	after    time.Duration // when it answered or closed
	answered bool          // false: still open when the attacker gave up
	sent     int64         // body bytes the attacker had written
	err      error         // the attacker could not connect
}

// slowSend writes head on c, then next()'s pieces, one every interval (as
// fast as the socket takes them when interval is 0), while reading what
// the server sends back. It returns when the server answers or closes the
// connection, or after limit; it closes c. next returns nil once the body
// is complete.
func slowSend(c net.Conn, head string, next func() []byte, interval, limit time.Duration) slowResult {
	defer c.Close()
	t0 := time.Now()
	answer := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	var sent int64
	finish := func(status int) slowResult {
		return slowResult{status: status, after: time.Since(t0), answered: true, sent: sent}
	}
	// Wait for an answer once the server stops taking bytes.
	await := func() slowResult {
		select {
		case st := <-answer:
			return finish(st)
		case <-time.After(time.Until(t0.Add(limit))):
			return slowResult{after: time.Since(t0), sent: sent}
		}
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(head)); err != nil {
		return await()
	}
	var tick <-chan time.Time
	if interval > 0 {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		tick = tk.C
	}
	deadline := time.After(limit)
	for {
		if tick != nil {
			select {
			case st := <-answer:
				return finish(st)
			case <-deadline:
				return slowResult{after: time.Since(t0), sent: sent}
			case <-tick:
			}
		} else {
			select {
			case st := <-answer:
				return finish(st)
			case <-deadline:
				return slowResult{after: time.Since(t0), sent: sent}
			default:
			}
		}
		p := next()
		if p == nil {
			return await()
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Write(p)
		sent += int64(n)
		if err != nil {
			return await()
		}
	}
}

// oneByte is a body that never ends: one 'a' per call.
func oneByte() []byte { return []byte{'a'} }

// holdIdle opens a TCP connection (and, if handshake, completes TLS) and
// sends nothing; it reports when the server closed it, or that it was
// still open after limit. A connection the server refuses counts as closed
// at once.
func (tg *target) holdIdle(ctx context.Context, handshake bool, limit time.Duration) slowResult {
	t0 := time.Now()
	var c net.Conn
	var err error
	if handshake {
		c, err = tg.dialTLS(ctx)
	} else {
		c, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", tg.addr())
	}
	if err != nil {
		return slowResult{answered: true, after: time.Since(t0), err: err}
	}
	defer c.Close()
	c.SetReadDeadline(t0.Add(limit))
	_, err = c.Read(make([]byte, 512))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return slowResult{after: time.Since(t0)}
	}
	return slowResult{answered: true, after: time.Since(t0)}
}
