package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/immutable"
	"github.com/lafssync/lafssync/grid/storage"
)

// Client is an upload helper as a client node uses it: immutable.Helper
// over HTTP on the transport connection to the helper node.
type Client struct {
	// HTTP reaches the helper (transport.Node.HTTPClient(helper ID)); its
	// requests go to the connection whatever their host.
	HTTP *http.Client
}

const base = "http://peer"

var _ immutable.Helper = (*Client)(nil)

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("upload helper: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSON))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSON)).Decode(out); err != nil {
		return fmt.Errorf("upload helper: bad answer to %s %s: %w", method, path, err)
	}
	return nil
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// Version asks the helper for its limits.
func (c *Client) Version(ctx context.Context) (VersionResponse, error) {
	var v VersionResponse
	err := c.do(ctx, http.MethodGet, VersionPath, nil, &v)
	return v, err
}

// Start implements immutable.Helper.
func (c *Client) Start(ctx context.Context, si storage.SI, size int64, p immutable.Params) (immutable.HelperStart, error) {
	var resp StartResponse
	req := StartRequest{Size: size, K: p.K, Happy: p.Happy, N: p.N, MaxSegmentSize: p.MaxSegmentSize}
	if err := c.do(ctx, http.MethodPost, UploadPath+si.String(), jsonBody(req), &resp); err != nil {
		return immutable.HelperStart{}, err
	}
	return immutable.HelperStart{Present: resp.Present, UEB: resp.UEB, Happiness: resp.Happiness, Have: resp.Have}, nil
}

// Send implements immutable.Helper.
func (c *Client) Send(ctx context.Context, si storage.SI, offset int64, r io.Reader) error {
	var resp DataResponse
	return c.do(ctx, http.MethodPut, UploadPath+si.String()+"?offset="+strconv.FormatInt(offset, 10), r, &resp)
}

// Finish implements immutable.Helper.
func (c *Client) Finish(ctx context.Context, si storage.SI, crypttextHash [32]byte) (immutable.HelperResult, error) {
	var resp FinishResponse
	if err := c.do(ctx, http.MethodPost, UploadPath+si.String()+"/finish", jsonBody(FinishRequest{CrypttextHash: base32.Encode(crypttextHash[:])}), &resp); err != nil {
		return immutable.HelperResult{}, err
	}
	out := immutable.HelperResult{UEB: resp.UEB, Happiness: resp.Happiness, Uploaded: resp.Uploaded, Placement: map[int]string{}}
	for sh, id := range resp.Placement {
		n, err := strconv.Atoi(sh)
		if err != nil || n < 0 || n > 255 {
			return immutable.HelperResult{}, fmt.Errorf("upload helper: bad share number %q in its answer", sh)
		}
		out.Placement[n] = id
	}
	return out, nil
}

// Abort implements immutable.Helper.
func (c *Client) Abort(ctx context.Context, si storage.SI) error {
	return c.do(ctx, http.MethodDelete, UploadPath+si.String(), nil, nil)
}

// StorageVia is an HTTP client whose GBS requests reach storage server
// id through the helper (for gbs.DialOver: "server id via this helper").
func (c *Client) StorageVia(id string) *http.Client {
	return &http.Client{Transport: via{rt: c.HTTP.Transport, prefix: StoragePath + id}}
}

// via rewrites a GBS request for the helper's forwarding route.
type via struct {
	rt     http.RoundTripper
	prefix string
}

func (v via) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	u := *r.URL
	u.Path = v.prefix + r.URL.Path
	u.RawPath = ""
	out.URL = &u
	rt := v.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(out)
}
