package gbs

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/tlsbatch"
)

// ClientOptions tune a Client.
type ClientOptions struct {
	// Info is what the grid layer knows of the server (from its
	// announcement); ID defaults to the NURL without its swissnum.
	Info storage.ServerInfo
	// Timeout bounds each request (default 60 s, as Tahoe).
	Timeout time.Duration
	// Retries for idempotent requests on network errors (default 3).
	Retries int
	// ChunkSize splits WriteShare bodies (default 1 MiB).
	ChunkSize int
	Logger    *slog.Logger
}

// Client is a storage.Server reached over GBS.
type Client struct {
	nurl NURL
	base string
	auth string
	http *http.Client
	opts ClientOptions
	log  *slog.Logger
}

// ErrWrongKey means the server presented a certificate whose key is not
// the one its NURL names.
var ErrWrongKey = errors.New("server certificate does not match the NURL's key")

// Dial returns a client for the server a NURL names. It does not connect
// until the first request.
func Dial(nurlText string, opts ClientOptions) (*Client, error) {
	n, opts, log, err := prepare(nurlText, opts)
	if err != nil {
		return nil, err
	}
	pin := n.SPKIHash
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// There is no CA: the NURL pins the key. Dates are ignored, as
		// Tahoe's own certificates are often expired.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return ErrWrongKey
			}
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return fmt.Errorf("server certificate: %w", err)
			}
			if subtle.ConstantTimeCompare([]byte(SPKIHash(cert)), []byte(pin)) != 1 {
				return ErrWrongKey
			}
			return cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
		},
		NextProtos: []string{"http/1.1"},
	}
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		// Share uploads go out in few socket writes (tlsbatch).
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tlsbatch.Client(raw, tlsConf)
			hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		},
	}
	return &Client{
		nurl: n,
		base: "https://" + net.JoinHostPort(n.Host, strconv.Itoa(n.Port)),
		auth: authHeader([]byte(n.Swissnum)),
		http: &http.Client{Transport: tr, Timeout: opts.Timeout},
		opts: opts,
		log:  log,
	}, nil
}

// DialOver returns a client for the server a NURL names whose requests
// travel over hc instead: the node transport's streams to that server,
// already mutually authenticated, so the NURL's host and key pin are not
// used. The swissnum still authorises the requests.
func DialOver(nurlText string, hc *http.Client, opts ClientOptions) (*Client, error) {
	n, opts, log, err := prepare(nurlText, opts)
	if err != nil {
		return nil, err
	}
	if hc.Timeout == 0 {
		hc.Timeout = opts.Timeout
	}
	return &Client{nurl: n, base: "http://peer", auth: authHeader([]byte(n.Swissnum)), http: hc, opts: opts, log: log}, nil
}

func prepare(nurlText string, opts ClientOptions) (NURL, ClientOptions, *slog.Logger, error) {
	n, err := ParseNURL(nurlText)
	if err != nil {
		return n, opts, nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.Info.ID == "" {
		opts.Info.ID = n.Redacted()
	}
	if opts.Info.Nickname == "" {
		opts.Info.Nickname = net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return n, opts, log, nil
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Info implements storage.Server.
func (c *Client) Info() storage.ServerInfo { return c.opts.Info }

// StatusError is an unexpected HTTP status from the server.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("storage server answered %d %s: %s", e.Code, http.StatusText(e.Code), strings.TrimSpace(e.Body))
}

// Unwrap maps statuses back onto the storage sentinels.
func (e *StatusError) Unwrap() error {
	for _, p := range statusOf {
		if p.code == e.Code {
			return p.err
		}
	}
	return nil
}

type request struct {
	method, path string
	body         []byte
	cbor         bool
	secrets      [][2]any // kind, []byte
	header       map[string]string
	idempotent   bool
}

// do sends a request, retrying idempotent ones on network errors, and
// returns the response with its body read (capped). A server that cannot
// be reached, does not answer in time or answers 5xx (other than 507, out
// of space) gives a *storage.UnavailableError.
func (c *Client) do(ctx context.Context, rq request, ok ...int) (*http.Response, []byte, error) {
	attempts := 1
	if rq.idempotent {
		attempts += c.opts.Retries
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, nil, c.unavailable(ctx, lastErr)
			case <-time.After(time.Duration(100<<i) * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, rq.method, c.base+rq.path, bytes.NewReader(rq.body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set(headerAuth, c.auth)
		if rq.cbor {
			req.Header.Set("Content-Type", cborType)
		}
		req.Header.Set("Accept", cborType)
		for _, s := range rq.secrets {
			setSecret(req.Header, s[0].(string), s[1].([]byte))
		}
		for k, v := range rq.header {
			req.Header.Set(k, v)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			lastErr = fmt.Errorf("%s %s: %w", rq.method, c.nurl.Redacted(), err)
			if errors.Is(err, ErrWrongKey) {
				return nil, nil, lastErr
			}
			if ctx.Err() != nil {
				return nil, nil, c.unavailable(ctx, lastErr)
			}
			lastErr = storage.Unavailable(c.opts.Info, lastErr)
			continue
		}
		body, err := readBody(resp, maxResponseBody)
		resp.Body.Close()
		if err != nil {
			lastErr = storage.Unavailable(c.opts.Info, fmt.Errorf("%s %s: read response: %w", rq.method, c.nurl.Redacted(), err))
			if ctx.Err() != nil {
				return nil, nil, c.unavailable(ctx, lastErr)
			}
			continue
		}
		if len(body) > maxResponseBody {
			return nil, nil, fmt.Errorf("%s %s: response over %d bytes", rq.method, c.nurl.Redacted(), maxResponseBody)
		}
		for _, code := range ok {
			if resp.StatusCode == code {
				return resp, body, nil
			}
		}
		serr := &StatusError{Code: resp.StatusCode, Body: string(body)}
		if resp.StatusCode >= 500 && serr.Unwrap() == nil {
			lastErr = storage.Unavailable(c.opts.Info, serr)
			if rq.idempotent {
				continue
			}
			return resp, body, lastErr
		}
		return resp, body, serr
	}
	return nil, nil, lastErr
}

// unavailable is the error for a request whose context ended: the
// caller's cancellation as it is, a deadline (the server did not answer in
// time) as unavailability with the last error seen.
func (c *Client) unavailable(ctx context.Context, last error) error {
	err := ctx.Err()
	if !errors.Is(err, context.DeadlineExceeded) {
		if last != nil && !errors.Is(last, storage.ErrUnavailable) {
			return last
		}
		return err
	}
	var ue *storage.UnavailableError
	if errors.As(last, &ue) {
		return storage.Unavailable(c.opts.Info, errors.Join(ue.Err, err))
	}
	if last != nil {
		return storage.Unavailable(c.opts.Info, errors.Join(last, err))
	}
	return storage.Unavailable(c.opts.Info, err)
}

// readBody reads a response body of at most limit bytes (limit+1 tells
// the caller it was over). With a Content-Length, as share reads have, the
// buffer is allocated once at its size: no growing and copying of
// megabyte-sized reads.
func readBody(resp *http.Response, limit int) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= int64(limit) {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
}

func (c *Client) cborBody(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err) // only our own well-typed messages are encoded
	}
	return b
}

func decode(body []byte, v any) error {
	if err := decMode.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed CBOR response: %w", err)
	}
	return nil
}

// Version implements storage.Server.
func (c *Client) Version(ctx context.Context) (storage.Version, error) {
	var v storage.Version
	_, body, err := c.do(ctx, request{method: "GET", path: "/storage/v1/version", idempotent: true}, http.StatusOK)
	if err != nil {
		return v, err
	}
	// Tahoe's version map has byte-string keys; let them decode as strings.
	var raw map[string]any
	if err := versionDecMode.Unmarshal(body, &raw); err != nil {
		return v, fmt.Errorf("malformed version response: %w", err)
	}
	inner, ok := raw[versionKey].(map[string]any)
	if !ok {
		return v, fmt.Errorf("version response lacks %s", versionKey)
	}
	num := func(k string) uint64 {
		switch x := inner[k].(type) {
		case uint64:
			return x
		case int64:
			return uint64(max(x, 0))
		}
		return 0
	}
	v.MaxImmutableShareSize = num("maximum-immutable-share-size")
	v.MaxMutableShareSize = num("maximum-mutable-share-size")
	v.AvailableSpace = num("available-space")
	if a, ok := raw["application-version"].([]byte); ok {
		v.Application = string(a)
	}
	if _, ok := inner["available-space"]; !ok {
		// Older servers omit it; the share-size limit is the same number.
		v.AvailableSpace = v.MaxImmutableShareSize
	}
	return v, nil
}

func siPath(kind string, si storage.SI, rest ...string) string {
	p := "/storage/v1/" + kind + "/" + si.String()
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func leaseSecretList(l storage.LeaseSecrets) [][2]any {
	return [][2]any{{secretRenew, l.Renew[:]}, {secretCancel, l.Cancel[:]}}
}

// AllocateBuckets implements storage.Server.
func (c *Client) AllocateBuckets(ctx context.Context, si storage.SI, l storage.LeaseSecrets, up storage.Secret, shares []int, size uint64) (storage.Allocation, error) {
	var a storage.Allocation
	sec := append(leaseSecretList(l), [2]any{secretUpload, up[:]})
	// Repeating an allocation with the same upload secret is safe (the
	// protocol makes it idempotent), so it is retried.
	_, body, err := c.do(ctx, request{method: "POST", path: siPath("immutable", si), cbor: true, idempotent: true,
		body: c.cborBody(allocateRequest{ShareNumbers: toSet(shares), AllocatedSize: size}), secrets: sec}, http.StatusOK)
	if err != nil {
		return a, err
	}
	var resp allocateResponse
	if err := decode(body, &resp); err != nil {
		return a, err
	}
	return storage.Allocation{AlreadyHave: toInts(resp.AlreadyHave), Allocated: toInts(resp.Allocated)}, nil
}

// WriteShare implements storage.Server. Large writes go in chunks; a
// re-sent chunk is harmless (identical bytes never conflict), so chunks
// are retried.
func (c *Client) WriteShare(ctx context.Context, si storage.SI, sh int, up storage.Secret, off uint64, p []byte) (bool, error) {
	done := false
	for len(p) > 0 {
		n := min(len(p), c.opts.ChunkSize)
		chunk := p[:n]
		resp, _, err := c.do(ctx, request{method: "PATCH", path: siPath("immutable", si, strconv.Itoa(sh)), body: chunk,
			idempotent: true, secrets: [][2]any{{secretUpload, up[:]}},
			header: map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/*", off, off+uint64(n)-1), "Content-Type": octetType}},
			http.StatusOK, http.StatusCreated)
		if err != nil {
			return false, err
		}
		done = resp.StatusCode == http.StatusCreated
		p, off = p[n:], off+uint64(n)
	}
	return done, nil
}

// AbortShare implements storage.Server.
func (c *Client) AbortShare(ctx context.Context, si storage.SI, sh int, up storage.Secret) error {
	_, _, err := c.do(ctx, request{method: "PUT", path: siPath("immutable", si, strconv.Itoa(sh), "abort"),
		secrets: [][2]any{{secretUpload, up[:]}}}, http.StatusOK)
	return err
}

func (c *Client) list(ctx context.Context, kind string, si storage.SI) ([]int, error) {
	_, body, err := c.do(ctx, request{method: "GET", path: siPath(kind, si, "shares"), idempotent: true}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var s shareSet
	if err := decode(body, &s); err != nil {
		return nil, err
	}
	return toInts(s), nil
}

// ListShares implements storage.Server.
func (c *Client) ListShares(ctx context.Context, si storage.SI) ([]int, error) {
	return c.list(ctx, "immutable", si)
}

// ListMutableShares implements storage.Server.
func (c *Client) ListMutableShares(ctx context.Context, si storage.SI) ([]int, error) {
	return c.list(ctx, "mutable", si)
}

func (c *Client) read(ctx context.Context, kind string, si storage.SI, sh int, off, n uint64) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	n = min(n, maxReadChunk)
	resp, body, err := c.do(ctx, request{method: "GET", path: siPath(kind, si, strconv.Itoa(sh)), idempotent: true,
		header: map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+n-1)}}, http.StatusPartialContent, http.StatusNoContent)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent {
		return []byte{}, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != octetType {
		return nil, fmt.Errorf("share read: content type %q", ct)
	}
	if uint64(len(body)) > n {
		return nil, fmt.Errorf("share read: server sent %d bytes for a %d-byte range", len(body), n)
	}
	return body, nil
}

// ReadShare implements storage.Server.
func (c *Client) ReadShare(ctx context.Context, si storage.SI, sh int, off, n uint64) ([]byte, error) {
	return c.read(ctx, "immutable", si, sh, off, n)
}

// ReadMutableShare implements storage.Server.
func (c *Client) ReadMutableShare(ctx context.Context, si storage.SI, sh int, off, n uint64) ([]byte, error) {
	return c.read(ctx, "mutable", si, sh, off, n)
}

// AddLease implements storage.Server.
func (c *Client) AddLease(ctx context.Context, si storage.SI, l storage.LeaseSecrets) error {
	_, _, err := c.do(ctx, request{method: "PUT", path: "/storage/v1/lease/" + si.String(), idempotent: true,
		secrets: leaseSecretList(l)}, http.StatusNoContent)
	return err
}

// AdviseCorrupt implements storage.Server.
func (c *Client) AdviseCorrupt(ctx context.Context, kind storage.Kind, si storage.SI, sh int, reason string) error {
	k := "immutable"
	if kind == storage.Mutable {
		k = "mutable"
	}
	if reason == "" {
		reason = "unspecified"
	}
	_, _, err := c.do(ctx, request{method: "POST", path: siPath(k, si, strconv.Itoa(sh), "corrupt"), cbor: true,
		body: c.cborBody(corruptRequest{Reason: reason[:min(len(reason), 32765)]})}, http.StatusOK)
	return err
}

// ReadTestWrite implements storage.Server. It is not retried: a lost
// response could hide a write that happened.
func (c *Client) ReadTestWrite(ctx context.Context, si storage.SI, we storage.Secret, l storage.LeaseSecrets, tw map[int]storage.TestWrite, reads []storage.ReadVector) (storage.RTWResult, error) {
	res := storage.RTWResult{Reads: map[int][][]byte{}}
	req := rtwRequest{TestWriteVectors: map[uint64]testWrite{}, ReadVector: []readVector{}}
	for sh, t := range tw {
		x := testWrite{Test: []testVector{}, Write: []writeVector{}, NewLength: t.NewLength}
		for _, tv := range t.Tests {
			spec := tv.Specimen
			if spec == nil {
				spec = []byte{}
			}
			x.Test = append(x.Test, testVector{Offset: tv.Offset, Size: tv.Size, Specimen: spec})
		}
		for _, wv := range t.Writes {
			x.Write = append(x.Write, writeVector{Offset: wv.Offset, Data: wv.Data})
		}
		req.TestWriteVectors[uint64(sh)] = x
	}
	for _, rv := range reads {
		req.ReadVector = append(req.ReadVector, readVector{Offset: rv.Offset, Size: rv.Size})
	}
	sec := append([][2]any{{secretWE, we[:]}}, leaseSecretList(l)...)
	_, body, err := c.do(ctx, request{method: "POST", path: siPath("mutable", si, "read-test-write"), cbor: true,
		body: c.cborBody(req), secrets: sec}, http.StatusOK)
	if err != nil {
		return res, err
	}
	var resp rtwResponse
	if err := decode(body, &resp); err != nil {
		return res, err
	}
	res.OK = resp.Success
	for sh, d := range resp.Data {
		res.Reads[int(sh)] = d
	}
	return res, nil
}

var _ storage.Server = (*Client)(nil)
