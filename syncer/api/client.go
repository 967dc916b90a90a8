package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks to a node's folder sync over its web API (the lafs sync
// commands and the tray app use it).
type Client struct {
	base  string // the web API's URL, ending in "/"
	token string
	hc    *http.Client
}

// NewClient talks to the web API at baseURL (NODEDIR/node.url) with its
// token. hc nil: http.DefaultClient. Give hc no Timeout if Events is used:
// a stream lasts as long as its context.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return &Client{base: baseURL, token: token, hc: hc}
}

// ResponseError is an error answer from the node.
type ResponseError struct {
	Status  int    // HTTP status
	Code    string // one of the Code… constants ("" from an older node)
	Message string
}

func (e *ResponseError) Error() string { return e.Message }

// Is matches the sentinel errors the answer was mapped from.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrNoFolder:
		return e.Code == CodeNoFolder || e.Code == "" && e.Status == http.StatusNotFound
	case ErrExists:
		return e.Code == CodeExists
	case ErrReadOnly:
		return e.Code == CodeReadOnly
	case ErrBadInput:
		return e.Code == CodeBadInput || e.Code == "" && e.Status == http.StatusBadRequest
	case ErrNoGrid:
		return e.Code == CodeNoGrid
	case ErrStarting:
		return e.Code == CodeStarting || e.Code == CodeOff
	}
	return false
}

// ErrStarting is what a client sees while the node's folder sync is not
// (yet) serving: it is starting, or it could not start (the message says).
var ErrStarting = errors.New("the folder sync is not running on this node")

// folderPath is the route for folder f (a name or a local path).
func folderPath(f string, rest ...string) string {
	return "sync/folders/" + url.PathEscape(f) + strings.Join(rest, "")
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return errorOf(resp.StatusCode, b)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the node's answer is not what this client expects (%w)", method, path, err)
	}
	return nil
}

func errorOf(status int, body []byte) error {
	var d ErrorDoc
	if json.Unmarshal(body, &d) != nil || d.Error == "" {
		d.Error = strings.TrimSpace(string(body))
		if d.Error == "" {
			d.Error = http.StatusText(status)
		}
	}
	return &ResponseError{Status: status, Code: d.Code, Message: d.Error}
}

// List returns every folder's status.
func (c *Client) List(ctx context.Context) ([]FolderStatus, error) {
	var out []FolderStatus
	return out, c.do(ctx, http.MethodGet, "sync/folders", nil, &out)
}

// Add adds a folder (a new one, one joined with To, or one followed).
func (c *Client) Add(ctx context.Context, r AddRequest) (FolderStatus, error) {
	var out FolderStatus
	return out, c.do(ctx, http.MethodPost, "sync/folders", r, &out)
}

// Status returns folder f's status.
func (c *Client) Status(ctx context.Context, f string) (FolderStatus, error) {
	var out FolderStatus
	return out, c.do(ctx, http.MethodGet, folderPath(f), nil, &out)
}

// Remove stops syncing folder f; keepRemote keeps its grid directory.
func (c *Client) Remove(ctx context.Context, f string, keepRemote bool) error {
	return c.do(ctx, http.MethodDelete, folderPath(f)+"?keep_remote="+fmt.Sprint(keepRemote), nil, nil)
}

// Pause pauses folder f for d (0: until resumed).
func (c *Client) Pause(ctx context.Context, f string, d time.Duration) (FolderStatus, error) {
	var out FolderStatus
	return out, c.do(ctx, http.MethodPost, folderPath(f, "/pause"), PauseRequest{ForSeconds: d.Seconds()}, &out)
}

// PauseAll pauses every folder for d (0: until resumed).
func (c *Client) PauseAll(ctx context.Context, d time.Duration) ([]FolderStatus, error) {
	var out []FolderStatus
	return out, c.do(ctx, http.MethodPost, folderPath(Every, "/pause"), PauseRequest{ForSeconds: d.Seconds()}, &out)
}

// Resume resumes folder f.
func (c *Client) Resume(ctx context.Context, f string) (FolderStatus, error) {
	var out FolderStatus
	return out, c.do(ctx, http.MethodPost, folderPath(f, "/resume"), nil, &out)
}

// ResumeAll resumes every folder.
func (c *Client) ResumeAll(ctx context.Context) ([]FolderStatus, error) {
	var out []FolderStatus
	return out, c.do(ctx, http.MethodPost, folderPath(Every, "/resume"), nil, &out)
}

// Share returns a cap for folder f: kind is ShareRead, ShareWrite or
// ShareSnapshot.
func (c *Client) Share(ctx context.Context, f, kind string) (ShareResponse, error) {
	var out ShareResponse
	return out, c.do(ctx, http.MethodGet, folderPath(f, "/share")+"?kind="+url.QueryEscape(kind), nil, &out)
}

// History lists the versions of path (slash-separated, in folder f).
func (c *Client) History(ctx context.Context, f, path string) ([]Version, error) {
	var out []Version
	return out, c.do(ctx, http.MethodGet, folderPath(f, "/history")+"?path="+url.QueryEscape(path), nil, &out)
}

// Deleted lists the deleted files under dir (slash-separated, in folder
// f; "": the whole folder).
func (c *Client) Deleted(ctx context.Context, f, dir string) (DeletedList, error) {
	var out DeletedList
	return out, c.do(ctx, http.MethodGet, folderPath(f, "/deleted")+"?dir="+url.QueryEscape(dir), nil, &out)
}

// Restore writes a previous version of a file of folder f.
func (c *Client) Restore(ctx context.Context, f string, r RestoreRequest) (RestoreResponse, error) {
	var out RestoreResponse
	return out, c.do(ctx, http.MethodPost, folderPath(f, "/restore"), r, &out)
}

// Events subscribes to the event stream: first each folder's status, then
// every event, until ctx ends or the stream breaks (the channel is then
// closed). The error is for the subscription itself.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"sync/events", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, errorOf(resp.StatusCode, b)
	}
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
		defer stop()
		readEvents(ctx, resp.Body, ch)
	}()
	return ch, nil
}

// readEvents parses a text/event-stream into ch until r ends or ctx does.
func readEvents(ctx context.Context, r io.Reader, ch chan<- Event) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var typ string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				var ev Event
				if json.Unmarshal([]byte(strings.Join(data, "\n")), &ev) == nil {
					if ev.Type == "" {
						ev.Type = typ
					}
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
			typ, data = "", nil
		case strings.HasPrefix(line, ":"):
			// a comment: the heartbeat
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				typ = value
			case "data":
				data = append(data, value)
			}
		}
	}
}
