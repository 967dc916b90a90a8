package mutable

import (
	"fmt"

	"github.com/lafssync/lafssync/grid/cap"
	"github.com/lafssync/lafssync/grid/vectors"
)

// CapFromKey computes the write cap of a mutable file whose RSA key is
// given as PEM (PKCS#1 or PKCS#8); format is "sdmf" or "mdmf".
func CapFromKey(pemKey []byte, format string) (string, error) {
	var f cap.Format
	switch format {
	case "sdmf":
		f = cap.SDMF
	case "mdmf":
		f = cap.MDMF
	default:
		return "", fmt.Errorf("unknown mutable format %q (want sdmf or mdmf)", format)
	}
	priv, err := ParsePEM(pemKey)
	if err != nil {
		return "", err
	}
	k, err := NewKeys(priv)
	if err != nil {
		return "", err
	}
	return k.WriteCap(f).String(), nil
}

// VectorCap computes the write cap of an SSK vector from its key; it is
// the Mutable hook of grid/vectors.
func VectorCap(v *vectors.Vector) (string, error) {
	if v.Format.Params == nil {
		return "", fmt.Errorf("ssk vector without params")
	}
	return CapFromKey([]byte(v.Format.Params.Key), v.Format.Params.Format)
}
