package cap

import (
	"github.com/lafssync/lafssync/grid/base32"
)

// Info describes a cap for people and scripts (lafs debug cap).
type Info struct {
	Kind         Kind   `json:"kind"`
	Format       string `json:"format,omitempty"` // CHK, LIT, SDMF, MDMF
	Directory    bool   `json:"directory"`
	Mutable      bool   `json:"mutable"`
	ReadOnly     bool   `json:"read_only"`
	StorageIndex string `json:"storage_index,omitempty"`
	K            int    `json:"k,omitempty"`
	N            int    `json:"n,omitempty"`
	Size         *int64 `json:"size,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	UEBHash      string `json:"ueb_hash,omitempty"`
	// ReadCap and VerifyCap are derived from the input; they are never more
	// powerful than it.
	ReadCap   string `json:"read_cap,omitempty"`
	VerifyCap string `json:"verify_cap,omitempty"`
}

// Describe explains c.
func Describe(c Cap) Info {
	in := Info{Kind: c.Kind(), Directory: c.IsDir(), Mutable: c.IsMutable(), ReadOnly: c.IsReadOnly()}
	if si, ok := c.StorageIndex(); ok {
		in.StorageIndex = si.String()
	}
	if r := c.ReadOnly(); r != nil {
		in.ReadCap = r.String()
	}
	if v := c.Verifier(); v != nil {
		in.VerifyCap = v.String()
	}
	f := c
	if d, ok := c.(*Dir); ok {
		f = d.File
	}
	size := func(n int64) { in.Size = &n }
	switch x := f.(type) {
	case *LIT:
		in.Format = "LIT"
		size(int64(len(x.Data)))
	case *CHK:
		in.Format, in.K, in.N, in.UEBHash = "CHK", x.K, x.N, base32.Encode(x.UEBHash[:])
		size(x.Size)
	case *CHKVerifier:
		in.Format, in.K, in.N, in.UEBHash = "CHK", x.K, x.N, base32.Encode(x.UEBHash[:])
		size(x.Size)
	case *Mutable:
		in.Format, in.Fingerprint = x.Format.String(), base32.Encode(x.Fingerprint[:])
	case *MutableRO:
		in.Format, in.Fingerprint = x.Format.String(), base32.Encode(x.Fingerprint[:])
	case *MutableVerifier:
		in.Format, in.Fingerprint = x.Format.String(), base32.Encode(x.Fingerprint[:])
	}
	return in
}
