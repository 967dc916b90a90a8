package mutable

import (
	"fmt"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/vectors"
)

// VectorCap computes the write cap of an SSK vector from its key; it is
// the Mutable hook of grid/vectors.
func VectorCap(v *vectors.Vector) (string, error) {
	if v.Format.Params == nil {
		return "", fmt.Errorf("ssk vector without params")
	}
	priv, err := ParsePEM([]byte(v.Format.Params.Key))
	if err != nil {
		return "", err
	}
	k, err := NewKeys(priv)
	if err != nil {
		return "", err
	}
	switch v.Format.Params.Format {
	case "sdmf":
		return k.WriteCap(cap.SDMF).String(), nil
	case "mdmf":
		return k.WriteCap(cap.MDMF).String(), nil
	}
	return "", fmt.Errorf("unknown mutable format %q", v.Format.Params.Format)
}
