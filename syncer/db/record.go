package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/lafssync/lafssync/syncer/vv"
)

// The record encoding, version 1 (all integers varints, encoding/binary):
//
//	version  byte = 1
//	flags    byte: 1 Synced, 2 Pending, 4 Gone (other bits must be 0)
//	Size     uvarint
//	MtimeNs  varint (zig-zag)
//	Inode    uvarint
//	Mode     uvarint (< 2³²)
//	Hash     32 bytes
//	Key      16 bytes
//	Cap      uvarint length, bytes
//	SyncedHash 32 bytes
//	Ver      uvarint count, then per device in increasing order:
//	         uvarint length, device bytes, uvarint counter
//
// Nothing may follow. A later version gets a new version byte; a decoder
// rejects versions it does not know rather than guessing.
const recordVersion = 1

const (
	flagSynced  = 1 << 0
	flagPending = 1 << 1
	flagGone    = 1 << 2
	flagsKnown  = flagSynced | flagPending | flagGone
)

// ErrBadRecord is wrapped by every decoding failure.
var ErrBadRecord = errors.New("malformed sync database record")

// MarshalBinary encodes r.
func (r Record) MarshalBinary() ([]byte, error) {
	if r.Size < 0 {
		return nil, fmt.Errorf("record size %d is negative", r.Size)
	}
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+32+16+binary.MaxVarintLen64+len(r.Cap)+32+16*len(r.Ver)+8)
	b = append(b, recordVersion, flagsOf(r))
	b = binary.AppendUvarint(b, uint64(r.Size))
	b = binary.AppendVarint(b, r.MtimeNs)
	b = binary.AppendUvarint(b, r.Inode)
	b = binary.AppendUvarint(b, uint64(r.Mode))
	b = append(b, r.Hash[:]...)
	b = append(b, r.Key[:]...)
	b = binary.AppendUvarint(b, uint64(len(r.Cap)))
	b = append(b, r.Cap...)
	b = append(b, r.SyncedHash[:]...)
	devs := make([]string, 0, len(r.Ver))
	for d := range r.Ver {
		devs = append(devs, d)
	}
	slices.Sort(devs)
	b = binary.AppendUvarint(b, uint64(len(devs)))
	for _, d := range devs {
		b = binary.AppendUvarint(b, uint64(len(d)))
		b = append(b, d...)
		b = binary.AppendUvarint(b, r.Ver[d])
	}
	return b, nil
}

func flagsOf(r Record) byte {
	var f byte
	if r.Synced {
		f |= flagSynced
	}
	if r.Pending {
		f |= flagPending
	}
	if r.Gone {
		f |= flagGone
	}
	return f
}

// UnmarshalBinary decodes what MarshalBinary wrote. Anything else is an
// error wrapping ErrBadRecord; it never panics and never allocates more
// than the input's length.
func (r *Record) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != recordVersion {
		return fmt.Errorf("%w: version %d (this program reads version %d; was the database written by a newer LAFS Sync?)", ErrBadRecord, v, recordVersion)
	}
	flags := d.byte()
	if d.err == nil && flags&^flagsKnown != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrBadRecord, flags)
	}
	var out Record
	out.Synced = flags&flagSynced != 0
	out.Pending = flags&flagPending != 0
	out.Gone = flags&flagGone != 0
	size := d.uvarint()
	if size > math.MaxInt64 {
		d.fail("size out of range")
	}
	out.Size = int64(size)
	out.MtimeNs = d.varint()
	out.Inode = d.uvarint()
	mode := d.uvarint()
	if mode > math.MaxUint32 {
		d.fail("mode out of range")
	}
	out.Mode = uint32(mode)
	copy(out.Hash[:], d.bytes(32))
	copy(out.Key[:], d.bytes(16))
	out.Cap = string(d.bytes(d.length()))
	copy(out.SyncedHash[:], d.bytes(32))
	n := d.length()
	prev := ""
	for i := 0; i < n && d.err == nil; i++ {
		dev := string(d.bytes(d.length()))
		c := d.uvarint()
		if d.err != nil {
			break
		}
		if i > 0 && dev <= prev {
			d.fail("version vector devices not in increasing order")
			break
		}
		if out.Ver == nil {
			out.Ver = make(vv.Vector, min(n, len(b)))
		}
		out.Ver[dev] = c
		prev = dev
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the record", len(d.b)))
	}
	if d.err != nil {
		return d.err
	}
	*r = out
	return nil
}

// decoder reads b front to back; the first problem sticks in err and
// every later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadRecord, what)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad or truncated integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad or truncated integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// length reads a count or byte length, which cannot exceed what is left.
func (d *decoder) length() int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)) {
		d.fail("length longer than the record")
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
