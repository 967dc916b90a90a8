package gbs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/storagetest"
	"github.com/lafssync/lafssync/node/store"
)

type testServer struct {
	nurl    string
	backend *store.Store
	base    string
	swiss   string
}

// startServer runs a GBS server over a disk store on 127.0.0.1.
func startServer(t *testing.T) *testServer {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, leaf, err := LoadCertificate(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	swiss := "swissnumforthetest"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, ln, NewServer(st, []byte(swiss), nil), cert); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	n := NURL{SPKIHash: SPKIHash(leaf), Host: "127.0.0.1", Port: port, Swissnum: swiss}
	return &testServer{nurl: n.String(), backend: st, base: "https://" + ln.Addr().String(), swiss: swiss}
}

func dial(t *testing.T, nurl string) *Client {
	c, err := Dial(nurl, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestConformanceOverHTTPS(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Server { return dial(t, startServer(t).nurl) })
}

func TestNURLRoundTrip(t *testing.T) {
	s := "pb://" + strings.Repeat("A", 43) + "@127.0.0.1:1234/s3cr3t#v=1"
	n, err := ParseNURL(s)
	if err != nil || n.String() != s || n.Port != 1234 || n.Swissnum != "s3cr3t" {
		t.Fatalf("%+v %v", n, err)
	}
	if n2, err := ParseNURL("pb://" + strings.Repeat("A", 43) + "@tcp:127.0.0.1:1234/swiss#v=1"); err != nil || n2.Host != "127.0.0.1" {
		t.Errorf("tcp: prefix: %v", err)
	}
	if strings.Contains(n.Redacted(), "s3cr3t") {
		t.Error("Redacted shows the swissnum")
	}
	for _, bad := range []string{"", "http://x", "pb://abc@h:1/s#v=1", "pb://" + strings.Repeat("A", 43) + "@h:1/s",
		"pb://" + strings.Repeat("A", 43) + "@h:0/s#v=1", "pb://" + strings.Repeat("A", 43) + "@h:1/#v=1"} {
		if _, err := ParseNURL(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseNURL(f *testing.F) {
	f.Add("pb://" + strings.Repeat("A", 43) + "@127.0.0.1:1234/swiss#v=1")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNURL(s)
		if err != nil {
			return
		}
		if _, err := ParseNURL(n.String()); err != nil {
			t.Fatalf("re-formatted NURL %q does not parse: %v", n.String(), err)
		}
	})
}

func TestWrongKeyRefused(t *testing.T) {
	ts := startServer(t)
	n, _ := ParseNURL(ts.nurl)
	n.SPKIHash = strings.Repeat("B", 43)
	c := dial(t, n.String())
	_, err := c.Version(context.Background())
	if err == nil || !strings.Contains(err.Error(), ErrWrongKey.Error()) {
		t.Fatalf("server with another key: %v", err)
	}
}

// raw sends a hand-made request and returns status and body.
func raw(t *testing.T, ts *testServer, method, path string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	c := dial(t, ts.nurl)
	req, _ := http.NewRequest(method, ts.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(ts.swiss)))
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func secHdr(kind string, b byte, n int) string {
	return kind + " " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

func TestStatusCodes(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	c := dial(t, ts.nurl)
	var si storage.SI
	si[0] = 7
	up := storage.Secret{1}
	if _, err := c.AllocateBuckets(ctx, si, storage.LeaseSecrets{}, up, []int{0}, 10); err != nil {
		t.Fatal(err)
	}
	c.WriteShare(ctx, si, 0, up, 0, []byte("0123456789"))
	sip := "/storage/v1/immutable/" + si.String()
	upload := secHdr("upload-secret", 1, 32)
	cases := []struct {
		name, method, path string
		body               []byte
		hdr                map[string]string
		want               int
	}{
		{"no swissnum", "GET", "/storage/v1/version", nil, map[string]string{"Authorization": ""}, 401},
		{"wrong swissnum", "GET", "/storage/v1/version", nil, map[string]string{"Authorization": "Tahoe-LAFS d3Jvbmc="}, 401},
		{"extra secret on GET", "GET", "/storage/v1/version", nil, map[string]string{"X-Tahoe-Authorization": upload}, 400},
		{"bad SI", "GET", "/storage/v1/immutable/AAAA/shares", nil, nil, 404},
		{"list unknown SI", "GET", "/storage/v1/immutable/" + strings.Repeat("a", 26) + "/shares", nil, nil, 200},
		{"ranged read", "GET", sip + "/0", nil, map[string]string{"Range": "bytes=2-5"}, 206},
		{"range beyond share", "GET", sip + "/0", nil, map[string]string{"Range": "bytes=20-25"}, 204},
		{"open range", "GET", sip + "/0", nil, map[string]string{"Range": "bytes=2-"}, 416},
		{"multi range", "GET", sip + "/0", nil, map[string]string{"Range": "bytes=0-1,3-4"}, 416},
		{"missing share", "GET", sip + "/9", nil, map[string]string{"Range": "bytes=0-1"}, 404},
		{"PATCH without Content-Range", "PATCH", sip + "/0", []byte("x"), map[string]string{"X-Tahoe-Authorization": upload}, 416},
		{"PATCH unknown upload", "PATCH", sip + "/3", []byte("x"), map[string]string{"X-Tahoe-Authorization": upload, "Content-Range": "bytes 0-0/*"}, 404},
		{"abort complete share", "PUT", sip + "/0/abort", nil, map[string]string{"X-Tahoe-Authorization": upload}, 405},
		{"wrong content type", "POST", sip + "/0/corrupt", []byte("{}"), map[string]string{"Content-Type": "application/json"}, 415},
		{"not acceptable", "GET", sip + "/shares", nil, map[string]string{"Accept": "application/json"}, 406},
		{"body too large", "POST", sip, bytes.Repeat([]byte{0}, 9000), map[string]string{"X-Tahoe-Authorization": secHdr("lease-renew-secret", 1, 32)}, 400},
		{"bad lease secret length", "PUT", "/storage/v1/lease/" + si.String(), nil, map[string]string{"X-Tahoe-Authorization": secHdr("lease-renew-secret", 1, 5)}, 400},
	}
	for _, tc := range cases {
		code, body, _ := raw(t, ts, tc.method, tc.path, tc.body, tc.hdr)
		if code != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, code, strings.TrimSpace(string(body)), tc.want)
		}
	}
	// 413 for an over-long allocate body with the right secrets.
	req := []string{secHdr("lease-renew-secret", 1, 32), secHdr("lease-cancel-secret", 2, 32), upload}
	c2 := dial(t, ts.nurl)
	r, _ := http.NewRequest("POST", ts.base+sip, bytes.NewReader(bytes.Repeat([]byte{0}, 9000)))
	r.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(ts.swiss)))
	for _, v := range req {
		r.Header.Add("X-Tahoe-Authorization", v)
	}
	resp, err := c2.http.Do(r)
	if err != nil || resp.StatusCode != 413 {
		t.Errorf("9000-byte allocate body: %v %v", resp, err)
	}
	// Nothing was touched by the refused requests.
	if got, _ := c.ReadShare(ctx, si, 0, 0, 100); string(got) != "0123456789" {
		t.Errorf("share changed: %q", got)
	}
	// The content range of a partial read is Tahoe's 'bytes a-b/*'.
	_, body, h := raw(t, ts, "GET", sip+"/0", nil, map[string]string{"Range": "bytes=2-5"})
	if string(body) != "2345" || h.Get("Content-Range") != "bytes 2-5/*" || h.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("partial read: %q %q %q", body, h.Get("Content-Range"), h.Get("Content-Type"))
	}
}

// Sets travel as CBOR tag 258 (0xd9 0x01 0x02) as Tahoe's schemas require.
func TestTag258OnTheWire(t *testing.T) {
	ts := startServer(t)
	code, body, _ := raw(t, ts, "GET", "/storage/v1/immutable/"+strings.Repeat("a", 26)+"/shares", nil, nil)
	if code != 200 || !bytes.Equal(body, []byte{0xd9, 0x01, 0x02, 0x80}) {
		t.Errorf("empty set encoded as % x", body)
	}
	b, _ := encMode.Marshal(allocateResponse{AlreadyHave: shareSet{1}, Allocated: shareSet{}})
	if !bytes.Contains(b, []byte{0xd9, 0x01, 0x02, 0x81, 0x01}) {
		t.Errorf("allocate response % x", b)
	}
	// The version map uses byte-string keys (major type 2).
	_, body, _ = raw(t, ts, "GET", "/storage/v1/version", nil, nil)
	if len(body) < 2 || body[0]&0xe0 != 0xa0 || body[1]&0xe0 != 0x40 {
		t.Errorf("version response does not start with a map keyed by byte strings: % x", body[:min(8, len(body))])
	}
}

func TestWrongSwissnumTouchesNothing(t *testing.T) {
	ts := startServer(t)
	n, _ := ParseNURL(ts.nurl)
	n.Swissnum = "not-the-swissnum"
	bad := dial(t, n.String())
	var si storage.SI
	_, err := bad.AllocateBuckets(context.Background(), si, storage.LeaseSecrets{}, storage.Secret{1}, []int{0}, 10)
	if !errors.Is(err, storage.ErrUnauthorized) {
		t.Fatalf("wrong swissnum: %v", err)
	}
	if got, _ := ts.backend.AllocateBuckets(context.Background(), si, storage.LeaseSecrets{}, storage.Secret{2}, []int{0}, 10); len(got.Allocated) != 1 {
		t.Error("a refused request reserved the share")
	}
}

func FuzzDecodeRequests(f *testing.F) {
	b, _ := encMode.Marshal(allocateRequest{ShareNumbers: shareSet{1, 2}, AllocatedSize: 5})
	f.Add(b)
	b, _ = encMode.Marshal(rtwRequest{TestWriteVectors: map[uint64]testWrite{0: {Write: []writeVector{{Data: []byte("x")}}}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a allocateRequest
		decMode.Unmarshal(b, &a)
		var r rtwRequest
		decMode.Unmarshal(b, &r)
		var c corruptRequest
		decMode.Unmarshal(b, &c)
	})
}
