package immutable

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/chk"
	"github.com/lafssync/lafssync/grid/storage"
)

// fakeHelper is an upload helper in memory over the helper's own client:
// it keeps the ciphertext it was sent, and can be told to cut a send
// short or to lie.
type fakeHelper struct {
	imm      *Client
	spool    map[storage.SI][]byte
	layout   map[storage.SI]chk.Layout
	cutAfter int64 // Send fails after this many bytes (0: never)
	lie      bool  // Finish returns a UEB with a wrong crypttext hash
	received int64
}

func (h *fakeHelper) Start(ctx context.Context, si storage.SI, size int64, p Params) (HelperStart, error) {
	l, err := chk.NewLayout(size, p.K, p.N, p.MaxSegmentSize)
	if err != nil {
		return HelperStart{}, err
	}
	h.layout[si] = l
	imm := *h.imm
	imm.Params = p
	if ueb, happy, ok := imm.FindOnGrid(ctx, si, l); ok {
		return HelperStart{Present: true, UEB: ueb, Happiness: happy}, nil
	}
	return HelperStart{Have: int64(len(h.spool[si]))}, nil
}

func (h *fakeHelper) Send(ctx context.Context, si storage.SI, offset int64, r io.Reader) error {
	if offset != int64(len(h.spool[si])) {
		return errors.New("bad offset")
	}
	var src io.Reader = r
	if h.cutAfter > 0 {
		src = io.LimitReader(r, h.cutAfter)
	}
	b, err := io.ReadAll(src)
	h.spool[si] = append(h.spool[si], b...)
	h.received += int64(len(b))
	if err == nil && h.cutAfter > 0 {
		return errors.New("connection lost")
	}
	return err
}

func (h *fakeHelper) Finish(ctx context.Context, si storage.SI, crypttextHash [32]byte) (HelperResult, error) {
	l := h.layout[si]
	imm := *h.imm
	imm.Params.K, imm.Params.N = l.K, l.N
	res, err := imm.UploadCiphertext(ctx, si, l, bytes.NewReader(h.spool[si]))
	if err == nil && h.lie {
		u, _ := chk.ParseUEB(res.UEB)
		u.CrypttextHash[0] ^= 1
		res.UEB = u.Pack()
	}
	return res, err
}

func (h *fakeHelper) Abort(ctx context.Context, si storage.SI) error {
	delete(h.spool, si)
	return nil
}

func newFakeHelper(servers []storage.Server) *fakeHelper {
	return &fakeHelper{imm: &Client{Servers: servers, Params: DefaultParams(), LeaseSecret: []byte("helper lease")},
		spool: map[storage.SI][]byte{}, layout: map[storage.SI]chk.Layout{}}
}

// A file uploaded through a helper has the cap of a direct upload, is
// sent once (not n/k times), downloads, and a second upload of it sends
// nothing.
func TestUploadViaHelperSameCap(t *testing.T) {
	direct, _ := newClient(10)
	viaGrid, _ := newClient(10)
	h := newFakeHelper(viaGrid.Servers)
	client := *viaGrid
	client.Servers = nil // the client reaches no server itself
	client.Helper = h
	d := data(50_000, 7)
	ctx := context.Background()

	want, err := direct.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if got.Cap.String() != want.Cap.String() {
		t.Fatal("the helper upload's cap differs from the direct upload's")
	}
	if h.received != int64(len(d)) || got.Uploaded != 10 || got.Happiness < 7 {
		t.Fatalf("helper received %d bytes (file %d), uploaded %d shares, happiness %d", h.received, len(d), got.Uploaded, got.Happiness)
	}
	var out bytes.Buffer
	if _, err := viaGrid.Download(ctx, got.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download: %v", err)
	}
	// Already on the grid: nothing is sent, the cap is the same.
	h.received = 0
	again, err := client.UploadKeyed(ctx, bytes.NewReader(d), int64(len(d)), got.Cap.(*cap.CHK).Key)
	if err != nil || again.Cap.String() != want.Cap.String() || h.received != 0 {
		t.Fatalf("second upload: err %v, same cap %v, sent %d bytes", err, err == nil && again.Cap.String() == want.Cap.String(), h.received)
	}
}

// An upload cut short resumes: the second attempt sends only the rest.
func TestUploadViaHelperResumes(t *testing.T) {
	grid, _ := newClient(10)
	h := newFakeHelper(grid.Servers)
	client := *grid
	client.Helper = h
	d := data(100_000, 8)
	ctx := context.Background()
	h.cutAfter = 30_000
	if _, err := client.Upload(ctx, bytes.NewReader(d)); err == nil {
		t.Fatal("cut upload succeeded")
	}
	h.cutAfter, h.received = 0, 0
	up, err := client.Upload(ctx, bytes.NewReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if h.received != int64(len(d))-30_000 {
		t.Fatalf("resumed upload sent %d bytes, want %d", h.received, len(d)-30_000)
	}
	var out bytes.Buffer
	if _, err := grid.Download(ctx, up.Cap, &out); err != nil || !bytes.Equal(out.Bytes(), d) {
		t.Fatalf("download: %v", err)
	}
}

// A helper whose UEB is not the file's gets no cap out of the client.
func TestUploadViaLyingHelper(t *testing.T) {
	grid, _ := newClient(10)
	h := newFakeHelper(grid.Servers)
	h.lie = true
	client := *grid
	client.Helper = h
	if _, err := client.Upload(context.Background(), bytes.NewReader(data(20_000, 9))); !errors.Is(err, ErrHelperLied) {
		t.Fatalf("lying helper: %v", err)
	}
}
