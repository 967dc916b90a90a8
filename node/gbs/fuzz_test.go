package gbs

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/node/store"
)

// fuzzInput hands out values from the fuzzer's bytes; past the end it
// yields zeros, so every input decodes to some sequence of requests.
type fuzzInput struct{ b []byte }

func (f *fuzzInput) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzInput) bytes(n int) []byte {
	n = min(n, len(f.b))
	out := f.b[:n]
	f.b = f.b[n:]
	return out
}

func (f *fuzzInput) u64() uint64 {
	var b [8]byte
	copy(b[:], f.bytes(8))
	return binary.BigEndian.Uint64(b[:])
}

// num gives the interesting numbers more often than a uniform u64 would:
// small ones, ones near the share sizes, and the edges of the type.
func (f *fuzzInput) num() uint64 {
	switch f.byte() % 8 {
	case 0:
		return uint64(f.byte())
	case 1:
		return uint64(binary.BigEndian.Uint16(append(f.bytes(2), 0, 0)))
	case 2:
		return 1<<64 - 1 - uint64(f.byte())
	case 3:
		return 1 << (f.byte() % 64)
	case 4:
		return 1<<63 - uint64(f.byte())
	case 5:
		return fuzzKnownLen + uint64(f.byte()) - 128
	default:
		return f.u64()
	}
}

func (f *fuzzInput) str(max int) string { return string(f.bytes(int(f.byte()) % (max + 1))) }

const fuzzKnownLen = 1000

var (
	fuzzKnownSI   = storage.SI{0xfe, 1}
	fuzzKnownData = bytes.Repeat([]byte("known good share "), fuzzKnownLen/17+1)[:fuzzKnownLen]
	fuzzSIs       = []storage.SI{fuzzKnownSI, {1}, {2}, {3}}
)

// request decodes one request: an endpoint, its path parameters, secrets,
// headers and a body, each either well-formed with fuzzed numbers or raw.
func (f *fuzzInput) request() *http.Request {
	siText := fuzzSIs[f.byte()%4].String()
	if f.byte()%8 == 0 {
		siText = f.str(30)
	}
	sh := fmt.Sprint(f.byte())
	switch f.byte() % 8 {
	case 0:
		sh = f.str(24)
	case 1:
		sh = fmt.Sprint(f.num())
	}
	var method, path string
	var body []byte
	cborBody := false
	switch f.byte() % 13 {
	case 0:
		method, path = "GET", "/storage/v1/version"
	case 1:
		method, path = "PUT", "/storage/v1/lease/"+siText
	case 2:
		method, path = "POST", "/storage/v1/immutable/"+siText
		shares := shareSet{}
		for i := f.byte() % 4; i > 0; i-- {
			shares = append(shares, f.num()%300)
		}
		body, _ = encMode.Marshal(allocateRequest{ShareNumbers: shares, AllocatedSize: f.num()})
		cborBody = true
	case 3:
		method, path = "PATCH", "/storage/v1/immutable/"+siText+"/"+sh
		body = f.bytes(int(f.byte()) * 8)
	case 4:
		method, path = "PUT", "/storage/v1/immutable/"+siText+"/"+sh+"/abort"
	case 5:
		method, path = "GET", "/storage/v1/immutable/"+siText+"/shares"
	case 6:
		method, path = "GET", "/storage/v1/immutable/"+siText+"/"+sh
	case 7:
		method, path = "POST", "/storage/v1/immutable/"+siText+"/"+sh+"/corrupt"
		body, _ = encMode.Marshal(corruptRequest{Reason: f.str(64)})
		cborBody = true
	case 8:
		method, path = "POST", "/storage/v1/mutable/"+siText+"/read-test-write"
		req := rtwRequest{TestWriteVectors: map[uint64]testWrite{}, ReadVector: []readVector{}}
		for i := f.byte() % 3; i > 0; i-- {
			tw := testWrite{Test: []testVector{}, Write: []writeVector{}}
			for j := f.byte() % 3; j > 0; j-- {
				tw.Test = append(tw.Test, testVector{Offset: f.num(), Size: f.num(), Specimen: f.bytes(int(f.byte() % 8))})
			}
			for j := f.byte() % 3; j > 0; j-- {
				tw.Write = append(tw.Write, writeVector{Offset: f.num(), Data: f.bytes(int(f.byte()))})
			}
			if f.byte()%2 == 0 {
				n := f.num()
				tw.NewLength = &n
			}
			req.TestWriteVectors[f.num()%260] = tw
		}
		for i := f.byte() % 3; i > 0; i-- {
			req.ReadVector = append(req.ReadVector, readVector{Offset: f.num(), Size: f.num()})
		}
		body, _ = encMode.Marshal(req)
		cborBody = true
	case 9:
		method, path = "GET", "/storage/v1/mutable/"+siText+"/shares"
	case 10:
		method, path = "GET", "/storage/v1/mutable/"+siText+"/"+sh
	case 11:
		method, path = "POST", "/storage/v1/mutable/"+siText+"/"+sh+"/corrupt"
		body, _ = encMode.Marshal(corruptRequest{Reason: f.str(64)})
		cborBody = true
	default:
		method = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}[f.byte()%5]
		path = "/storage/v1/" + f.str(40)
	}
	if cborBody && f.byte()%4 == 0 {
		body = f.bytes(int(f.byte()) * 4) // raw bytes instead
	}
	// Refuse what net/http's client could not send either.
	if strings.ContainsFunc(path, func(c rune) bool { return c <= ' ' || c == 0x7f || strings.ContainsRune("#?%", c) }) {
		path = "/storage/v1/version"
	}
	r := httptest.NewRequest(method, "http://server"+path, nil)
	declared := int64(len(body))
	switch f.byte() % 6 {
	case 0:
		declared = -1
	case 1:
		declared = int64(f.num() >> 1)
	}
	r.ContentLength = declared
	if declared >= 0 {
		r.Body = io.NopCloser(io.LimitReader(bytes.NewReader(body), declared))
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if f.byte()%16 != 0 {
		r.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(testSwiss)))
	}
	mask := f.byte()
	for i, kind := range []string{secretRenew, secretCancel, secretUpload, secretWE} {
		if mask&(1<<i) == 0 {
			continue
		}
		val := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, 32))
		switch f.byte() % 4 {
		case 0:
			val = base64.StdEncoding.EncodeToString(f.bytes(int(f.byte() % 40)))
		case 1:
			val = f.str(20)
		}
		r.Header.Add(headerSecrets, kind+" "+val)
	}
	switch f.byte() % 4 {
	case 0:
		r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", f.num(), f.num()))
	case 1:
		r.Header.Set("Range", f.str(40))
	}
	switch f.byte() % 4 {
	case 0:
		r.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", f.num(), f.num()))
	case 1:
		r.Header.Set("Content-Range", f.str(40))
	}
	switch f.byte() % 4 {
	case 0:
		r.Header.Set("Content-Type", octetType)
	case 1:
		r.Header.Set("Content-Type", f.str(20))
	default:
		if cborBody {
			r.Header.Set("Content-Type", cborType)
		}
	}
	if f.byte()%8 == 0 {
		r.Header.Set("Accept", f.str(20))
	}
	return r
}

// fuzzDir is a directory for one run's store: in memory where the system
// has a tmpfs (the store's fsyncs are then free, and the fuzzer is some
// hundred times faster), else the test's temporary directory.
func fuzzDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "gbs-fuzz-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// maxRequestAlloc bounds what one request may allocate: the largest
// legitimate one is a 64 MiB ranged read of a share that long.
const maxRequestAlloc = maxReadChunk + 16<<20

// FuzzServer drives a real Server over a real disk store with requests
// decoded from the fuzzer's bytes (huge offsets, lengths and ranges
// included). Every request must end without a panic, with no 5xx but 503
// (busy) and 507 (full), allocating a bounded amount; afterwards a share
// written before still reads back intact.
func FuzzServer(f *testing.F) {
	f.Add([]byte{})
	// allocate on SI 1 share 0, then PATCH it, then read it.
	f.Add([]byte{1, 1, 0, 2, 2, 0, 7, 0, 10, 2, 1, 2, 3, 9, 1, 1, 0, 3, 4, 0, 1, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := store.Open(fuzzDir(t), store.Options{FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		up := secretOf(3)
		if _, err := st.AllocateBuckets(ctx, fuzzKnownSI, storage.LeaseSecrets{}, up, []int{0}, fuzzKnownLen); err != nil {
			t.Fatal(err)
		}
		if done, err := st.WriteShare(ctx, fuzzKnownSI, 0, up, 0, fuzzKnownData); err != nil || !done {
			t.Fatal(done, err)
		}
		s := NewServerWithLimits(st, []byte(testSwiss), nil, Limits{Memory: NewMemoryBudget(DefaultMemory), QueueWait: time.Millisecond})
		in := &fuzzInput{b: data}
		for i := 0; i < 8 && len(in.b) > 0; i++ {
			r := in.request()
			w := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s.ServeHTTP(w, r)
			runtime.ReadMemStats(&after)
			t.Logf("%s %s Range %q Content-Range %q: %d", r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Content-Range"), w.Code)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable && w.Code != http.StatusInsufficientStorage {
				t.Fatalf("%s %s (Range %q, Content-Range %q, %d-byte body): %d %s", r.Method, r.URL.Path, r.Header.Get("Range"),
					r.Header.Get("Content-Range"), r.ContentLength, w.Code, w.Body.String())
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > maxRequestAlloc {
				t.Fatalf("%s %s allocated %d bytes", r.Method, r.URL.Path, n)
			}
		}
		if u := s.limits.Memory.InUse(); u != 0 {
			t.Fatalf("%d bytes of the memory budget still charged", u)
		}
		r := httptest.NewRequest("GET", "http://server/storage/v1/immutable/"+fuzzKnownSI.String()+"/0", nil)
		r.Header.Set("Authorization", "Tahoe-LAFS "+base64.StdEncoding.EncodeToString([]byte(testSwiss)))
		r.Header.Set("Range", fmt.Sprintf("bytes=0-%d", fuzzKnownLen-1))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), fuzzKnownData) {
			t.Fatalf("known share after the requests: %d, %d bytes", w.Code, w.Body.Len())
		}
	})
}
