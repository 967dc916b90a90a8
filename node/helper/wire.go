package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Routes on the peer mux (docs/helper.md). {si} is a storage index in
// base32, {server} a storage server's node ID.
const (
	// PathPrefix is everything the helper serves.
	PathPrefix = "/helper/v1/"
	// VersionPath answers with the helper's limits (GET).
	VersionPath = PathPrefix + "version"
	// UploadPath + {si}: POST starts or resumes, PUT ?offset=N appends
	// ciphertext, DELETE aborts; UploadPath + {si} + "/finish": POST.
	UploadPath = PathPrefix + "upload/"
	// StoragePath + {server} + a GBS path (/storage/v1/…): forwarded.
	StoragePath = PathPrefix + "storage/"
)

// StartRequest starts (or resumes) the upload of one file's ciphertext.
type StartRequest struct {
	Size           int64 `json:"size"`
	K              int   `json:"k"`
	Happy          int   `json:"happy"`
	N              int   `json:"n"`
	MaxSegmentSize int64 `json:"max-segment-size"`
}

// StartResponse answers a StartRequest: the file is already on the grid
// (Present, with its UEB, unverified), or the helper holds Have bytes of
// its ciphertext.
type StartResponse struct {
	Present   bool   `json:"present"`
	UEB       []byte `json:"ueb,omitempty"` // base64 in JSON
	Happiness int    `json:"happiness,omitempty"`
	Have      int64  `json:"have"`
}

// DataResponse answers a PUT of ciphertext (and a 409 for a wrong offset):
// how many bytes the helper now holds.
type DataResponse struct {
	Have int64 `json:"have"`
}

// FinishRequest asks the helper to encode and place what it holds, once
// that is the whole file and has this crypttext hash (Tahoe's
// allmydata_crypttext_v1 tagged hash, base32).
type FinishRequest struct {
	CrypttextHash string `json:"crypttext-hash"`
}

// FinishResponse is a placed file: its packed UEB (from which the client
// forms the cap) and where its shares went.
type FinishResponse struct {
	UEB       []byte            `json:"ueb"`
	Placement map[string]string `json:"placement"` // share number → server ID
	Happiness int               `json:"happiness"`
	Uploaded  int               `json:"uploaded"`
}

// VersionResponse is what a client may know before it starts.
type VersionResponse struct {
	Application         string `json:"application"`
	MaxFileSize         int64  `json:"max-file-size"`
	MaxUploadsPerClient int    `json:"max-uploads-per-client"`
	MaxSegmentSize      int64  `json:"max-segment-size"`
	Forward             bool   `json:"forward"`
}

// errorBody is every error's JSON body.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Have  *int64 `json:"have,omitempty"`
}

// Error is a helper's refusal as the client sees it.
type Error struct {
	Status  int
	Code    string
	Message string
	Have    int64 // for Code "offset"
}

func (e *Error) Error() string {
	return fmt.Sprintf("upload helper: %s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

// Error codes (docs/helper.md).
const (
	CodeBadRequest = "bad-request"
	CodeNotPeer    = "not-a-peer"
	CodeLimit      = "limit"    // per-client limits: uploads, bytes, forwarded calls
	CodeNoSpace    = "no-space" // the helper's disk
	CodeNoUpload   = "no-upload"
	CodeOffset     = "offset"   // the PUT's offset is not where the spool ends
	CodeBusy       = "busy"     // another request works on this upload
	CodeMismatch   = "mismatch" // the spool is not the ciphertext the client hashed
	CodeIncomplete = "incomplete"
	CodePlacement  = "placement" // the helper could not place the shares
	CodeNoServer   = "no-server" // forward: unknown or unconnected server
)

// ErrRetryable marks helper errors after which the same request may
// succeed later (limits, busy, placement).
var ErrRetryable = errors.New("retry later")

func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeLimit, CodeBusy, CodePlacement, CodeNoSpace:
		return ErrRetryable
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}

// maxJSON bounds every JSON request and response body.
const maxJSON = 256 << 10

// decodeJSON reads one JSON value of at most maxJSON bytes, and nothing after it.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// readError turns a non-2xx response into an *Error.
func readError(resp *http.Response) error {
	var b errorBody
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxJSON))
	if json.Unmarshal(raw, &b) != nil || b.Code == "" {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return &Error{Status: resp.StatusCode, Code: "http", Message: msg}
	}
	e := &Error{Status: resp.StatusCode, Code: b.Code, Message: b.Error}
	if b.Have != nil {
		e.Have = *b.Have
	}
	return e
}

func parseOffset(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("offset %q: want a non-negative integer", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("offset %q: want a non-negative integer", s)
	}
	return n, nil
}
