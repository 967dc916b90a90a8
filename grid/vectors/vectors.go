// Package vectors runs Tahoe-LAFS's interoperability vectors
// (integration/vectors/test_vectors.yaml upstream; a copy with its
// provenance is in testdata/vectors/tahoe): for every vector it computes
// the cap from the inputs alone and compares it with the expected string.
package vectors

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/lafssync/lafssync/grid/base32"
	"github.com/lafssync/lafssync/grid/chk"
)

// Vector is one entry of the file.
type Vector struct {
	Convergence string `yaml:"convergence"`
	Expected    string `yaml:"expected"`
	Format      struct {
		Kind   string `yaml:"kind"`
		Params *struct {
			Format string `yaml:"format"`
			Key    string `yaml:"key"`
		} `yaml:"params"`
	} `yaml:"format"`
	Sample struct {
		Length int64  `yaml:"length"`
		Seed   string `yaml:"seed"`
	} `yaml:"sample"`
	Zfec struct {
		Required    int   `yaml:"required"`
		Total       int   `yaml:"total"`
		SegmentSize int64 `yaml:"segmentSize"`
	} `yaml:"zfec"`
}

// Kind is "chk", "sdmf" or "mdmf".
func (v *Vector) Kind() string {
	if v.Format.Kind == "ssk" && v.Format.Params != nil {
		return v.Format.Params.Format
	}
	return v.Format.Kind
}

// File is a loaded vectors file.
type File struct {
	Vectors []Vector `yaml:"vector"`
}

// Load parses a vectors file.
func Load(r io.Reader) (*File, error) {
	var f File
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("vectors: parse YAML: %w", err)
	}
	if len(f.Vectors) == 0 {
		return nil, fmt.Errorf("vectors: no entries under 'vector:'")
	}
	return &f, nil
}

// Status of one vector.
type Status string

// Statuses.
const (
	OK       Status = "ok"
	Mismatch Status = "MISMATCH"
	Skipped  Status = "skipped"
	Failed   Status = "ERROR"
)

// Result is the outcome of one vector.
type Result struct {
	Index    int
	Kind     string
	Length   int64
	Computed string
	Status   Status
	Reason   string // why skipped or failed
}

// Summary counts outcomes.
type Summary struct{ Passed, Failed, Skipped int }

// Options control a run.
type Options struct {
	// MaxLength skips vectors whose plaintext is longer (0 = no limit).
	MaxLength int64
	// Mutable computes SSK/MDMF caps from a vector; nil skips them.
	Mutable func(v *Vector) (string, error)
}

// maxSampleLength bounds a vector's plaintext (Tahoe's largest is 8 MiB + 1).
const maxSampleLength = 1 << 40

// Plaintext is the vector's sample, the seed repeated and cut to length,
// generated as it is read: memory does not grow with the length.
func (v *Vector) Plaintext() (*Sample, error) {
	seed, err := base64.StdEncoding.DecodeString(v.Sample.Seed)
	if err != nil || len(seed) == 0 {
		return nil, fmt.Errorf("sample seed %q is not non-empty base64", v.Sample.Seed)
	}
	if v.Sample.Length < 0 || v.Sample.Length > maxSampleLength {
		return nil, fmt.Errorf("sample length %d out of range", v.Sample.Length)
	}
	return NewSample(seed, v.Sample.Length), nil
}

// Sample is an io.ReadSeeker over seed repeated and cut to a length
// (Tahoe's (seed * (length // len(seed) + 1))[:length]).
type Sample struct {
	chunk []byte // seed repeated to about 64 KiB, a whole number of seeds
	seed  int
	size  int64
	off   int64
}

// NewSample returns the sample of length bytes made from seed (non-empty).
func NewSample(seed []byte, length int64) *Sample {
	reps := max(1, (64<<10)/len(seed))
	return &Sample{chunk: bytes.Repeat(seed, reps), seed: len(seed), size: length}
}

// Size is the sample's length.
func (s *Sample) Size() int64 { return s.size }

// Read implements io.Reader.
func (s *Sample) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.off < s.size {
		start := int(s.off % int64(s.seed)) // chunk is whole seeds: any phase is at the same index
		m := copy(p[n:], s.chunk[start:])
		m = int(min(int64(m), s.size-s.off))
		n += m
		s.off += int64(m)
	}
	return n, nil
}

// Seek implements io.Seeker.
func (s *Sample) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += s.size
	default:
		return 0, fmt.Errorf("sample: bad whence %d", whence)
	}
	if off < 0 {
		return 0, fmt.Errorf("sample: seek to %d", off)
	}
	s.off = off
	return off, nil
}

// ComputeCHK derives the immutable cap of a CHK vector from its inputs.
func ComputeCHK(v *Vector) (string, error) {
	secret, err := base64.StdEncoding.DecodeString(v.Convergence)
	if err != nil {
		return "", fmt.Errorf("convergence %q is not base64", v.Convergence)
	}
	data, err := v.Plaintext()
	if err != nil {
		return "", err
	}
	if data.Size() <= chk.LITThreshold {
		b, err := io.ReadAll(data)
		if err != nil {
			return "", err
		}
		return "URI:LIT:" + base32.Encode(b), nil
	}
	l, err := chk.NewLayout(data.Size(), v.Zfec.Required, v.Zfec.Total, v.Zfec.SegmentSize)
	if err != nil {
		return "", err
	}
	key, err := chk.ConvergentKey(data, secret, l)
	if err != nil {
		return "", err
	}
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	res, err := chk.Encode(data, key, l, discard{})
	if err != nil {
		return "", err
	}
	return res.Ref.Cap(), nil
}

type discard struct{}

func (discard) WriteAt(int, int64, []byte) error { return nil }

// Run computes every vector in order and reports each result.
func (f *File) Run(ctx context.Context, opts Options, report func(Result)) (Summary, error) {
	var s Summary
	for i := range f.Vectors {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		v := &f.Vectors[i]
		r := Result{Index: i, Kind: v.Kind(), Length: v.Sample.Length}
		var err error
		switch {
		case opts.MaxLength > 0 && v.Sample.Length > opts.MaxLength:
			r.Status, r.Reason = Skipped, fmt.Sprintf("length %d > %d", v.Sample.Length, opts.MaxLength)
		case v.Format.Kind == "chk":
			r.Computed, err = ComputeCHK(v)
		case v.Format.Kind == "ssk" && opts.Mutable != nil:
			r.Computed, err = opts.Mutable(v)
		case v.Format.Kind == "ssk":
			r.Status, r.Reason = Skipped, "mutable caps not computed by this build"
		default:
			r.Status, r.Reason = Failed, fmt.Sprintf("unknown format kind %q", v.Format.Kind)
		}
		switch {
		case err != nil:
			r.Status, r.Reason = Failed, err.Error()
		case r.Status == "" && r.Computed == v.Expected:
			r.Status = OK
		case r.Status == "":
			r.Status = Mismatch
		}
		switch r.Status {
		case OK:
			s.Passed++
		case Skipped:
			s.Skipped++
		default:
			s.Failed++
		}
		report(r)
	}
	return s, nil
}
