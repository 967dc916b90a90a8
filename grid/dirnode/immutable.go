package dirnode

import (
	"bytes"
	"context"
	"fmt"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/immutable"
)

// CreateImmutable stores entries as an immutable directory (DIR2-CHK, or
// DIR2-LIT when small) through an immutable-file client. Every child must
// be immutable too (Tahoe's deep-immutable rule), so no write caps appear.
func CreateImmutable(ctx context.Context, ic *immutable.Client, entries Entries) (cap.Cap, error) {
	for name, e := range entries {
		if err := CheckName(name); err != nil {
			return nil, err
		}
		if e.WriteCap != "" {
			return nil, fmt.Errorf("%q: an immutable directory cannot hold a write cap", name)
		}
		if c := cap.ParseChild(e.ReadCap); c.IsMutable() || c.Kind() == cap.KindUnknown {
			return nil, fmt.Errorf("%q: an immutable directory can only hold immutable children, not %s", name, c.Kind())
		}
	}
	data, err := Pack(entries, nil, true)
	if err != nil {
		return nil, err
	}
	up, err := ic.Upload(ctx, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("store immutable directory: %w", err)
	}
	return &cap.Dir{File: up.Cap}, nil
}

// ReadImmutable reads an immutable directory (DIR2-CHK or DIR2-LIT).
func ReadImmutable(ctx context.Context, ic *immutable.Client, c cap.Cap) (Entries, error) {
	if !c.IsDir() || c.IsMutable() {
		return nil, fmt.Errorf("%s is not an immutable directory cap", c.Kind())
	}
	var buf bytes.Buffer
	if _, err := ic.Download(ctx, c, &buf); err != nil {
		return nil, fmt.Errorf("read immutable directory: %w", err)
	}
	return Unpack(buf.Bytes(), nil, true)
}
