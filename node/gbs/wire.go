package gbs

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/lafssync/lafssync/grid/storage"
)

// Protocol constants.
const (
	versionKey       = "http://allmydata.org/tahoe/protocols/storage/v1"
	cborType         = "application/cbor"
	octetType        = "application/octet-stream"
	setTag           = 258
	maxDefaultBody   = 1 << 20
	maxAllocateBody  = 8192
	maxCorruptBody   = 32768
	maxResponseBody  = 30 << 20
	secretRenew      = "lease-renew-secret"
	secretCancel     = "lease-cancel-secret"
	secretUpload     = "upload-secret"
	secretWE         = "write-enabler"
	headerAuth       = "Authorization"
	headerSecrets    = "X-Tahoe-Authorization"
	authSchemePrefix = "Tahoe-LAFS "
)

// shareSet is a set of share numbers, CBOR tag 258 around an array.
type shareSet []uint64

func (s shareSet) MarshalCBOR() ([]byte, error) {
	if s == nil {
		s = shareSet{}
	}
	return cbor.Marshal(cbor.Tag{Number: setTag, Content: []uint64(s)})
}

func (s *shareSet) UnmarshalCBOR(b []byte) error {
	var t cbor.RawTag
	if err := cbor.Unmarshal(b, &t); err == nil {
		if t.Number != setTag {
			return fmt.Errorf("set: CBOR tag %d, want %d", t.Number, setTag)
		}
		return cbor.Unmarshal(t.Content, (*[]uint64)(s))
	}
	return cbor.Unmarshal(b, (*[]uint64)(s))
}

func toInts(s shareSet) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

func toSet(a []int) shareSet {
	out := make(shareSet, len(a))
	for i, v := range a {
		out[i] = uint64(v)
	}
	return out
}

type allocateRequest struct {
	ShareNumbers  shareSet `cbor:"share-numbers"`
	AllocatedSize uint64   `cbor:"allocated-size"`
}

type allocateResponse struct {
	AlreadyHave shareSet `cbor:"already-have"`
	Allocated   shareSet `cbor:"allocated"`
}

type byteRange struct {
	Begin uint64 `cbor:"begin"`
	End   uint64 `cbor:"end"`
}

type uploadProgress struct {
	Required []byteRange `cbor:"required"`
}

type corruptRequest struct {
	Reason string `cbor:"reason"`
}

type testVector struct {
	Offset   uint64 `cbor:"offset"`
	Size     uint64 `cbor:"size"`
	Specimen []byte `cbor:"specimen"`
}

type writeVector struct {
	Offset uint64 `cbor:"offset"`
	Data   []byte `cbor:"data"`
}

type testWrite struct {
	Test      []testVector  `cbor:"test"`
	Write     []writeVector `cbor:"write"`
	NewLength *uint64       `cbor:"new-length"`
}

type readVector struct {
	Offset uint64 `cbor:"offset"`
	Size   uint64 `cbor:"size"`
}

type rtwRequest struct {
	TestWriteVectors map[uint64]testWrite `cbor:"test-write-vectors"`
	ReadVector       []readVector         `cbor:"read-vector"`
}

// rtwRequestIn is rtwRequest as the server decodes it: straight into the
// storage types (their field names match the CBOR keys), so that the
// vectors are not copied again.
type rtwRequestIn struct {
	TestWriteVectors map[uint64]testWriteIn `cbor:"test-write-vectors"`
	ReadVector       []storage.ReadVector   `cbor:"read-vector"`
}

type testWriteIn struct {
	Test      []storage.TestVector  `cbor:"test"`
	Write     []storage.WriteVector `cbor:"write"`
	NewLength *uint64               `cbor:"new-length"`
}

type rtwResponse struct {
	Success bool                `cbor:"success"`
	Data    map[uint64][][]byte `cbor:"data"`
}

// statusOf pairs the storage sentinels with the HTTP statuses Tahoe's
// server uses for them; the server maps errors to statuses with it and the
// client maps statuses back (the first pair wins for a shared status).
var statusOf = []struct {
	err  error
	code int
}{
	{storage.ErrNotFound, http.StatusNotFound},
	{storage.ErrConflict, http.StatusConflict},
	{storage.ErrUnauthorized, http.StatusUnauthorized},
	{storage.ErrComplete, http.StatusMethodNotAllowed},
	{storage.ErrOutOfRange, http.StatusRequestedRangeNotSatisfiable},
	{storage.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{storage.ErrReadOnly, http.StatusInsufficientStorage},
	{storage.ErrNoSpace, http.StatusInsufficientStorage},
}

// versionResponse has byte-string keys, as Tahoe's CDDL requires.
type versionResponse map[cbor.ByteString]any

var encMode = func() cbor.EncMode {
	m, err := cbor.EncOptions{Sort: cbor.SortCanonical}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 16, MaxNestedLevels: 16, DupMapKey: cbor.DupMapKeyEnforcedAPF}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// rtwDecMode bounds what decoding a read-test-write can allocate beyond
// the body: at most 256 shares, each with at most 4096 vectors of a kind
// (Tahoe sends one write per MDMF segment; we send one per share).
var rtwDecMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{MaxArrayElements: 4096, MaxMapPairs: 256, MaxNestedLevels: 8, DupMapKey: cbor.DupMapKeyEnforcedAPF}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var versionDecMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{ByteStringToString: cbor.ByteStringToStringAllowed, DefaultMapType: reflect.TypeOf(map[string]any{}),
		MaxNestedLevels: 8, MaxMapPairs: 1024}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// secrets parses X-Tahoe-Authorization headers. The set of kinds must be
// exactly want; lease secrets must be 32 bytes.
func parseSecrets(h http.Header, want ...string) (map[string][]byte, error) {
	got := map[string][]byte{}
	for _, v := range h.Values(headerSecrets) {
		kind, b64, ok := strings.Cut(v, " ")
		if !ok {
			return nil, fmt.Errorf("malformed %s header", headerSecrets)
		}
		switch kind {
		case secretRenew, secretCancel, secretUpload, secretWE:
		default:
			return nil, fmt.Errorf("unknown secret kind %q", kind)
		}
		val, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(val) == 0 {
			return nil, fmt.Errorf("secret %s is not non-empty base64", kind)
		}
		if (kind == secretRenew || kind == secretCancel) && len(val) != 32 {
			return nil, fmt.Errorf("secret %s is %d bytes, want 32", kind, len(val))
		}
		got[kind] = val
	}
	if len(got) != len(want) {
		return nil, fmt.Errorf("need exactly the secrets %v", want)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			return nil, fmt.Errorf("missing secret %s", k)
		}
	}
	return got, nil
}

func secret32(b []byte) storage.Secret {
	var s storage.Secret
	copy(s[:], b)
	return s
}

func setSecret(h http.Header, kind string, s []byte) {
	h.Add(headerSecrets, kind+" "+base64.StdEncoding.EncodeToString(s))
}
